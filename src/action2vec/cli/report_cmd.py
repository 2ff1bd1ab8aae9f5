"""``action2vec report RUN_DIR``: gather a run's results into report.md, report.html and report.json."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write report.md, a self-contained report.html and report.json for a run folder",
        description="Collect the results in RUN_DIR (zsl.json and other JSON files written by `zsl` and `eval "
        "... --json`, pictures under figures/, Lightning metrics.csv training logs) into report.md, "
        "report.html (images embedded) and report.json.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--title", help="report title (default: from the folder name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from action2vec.reports.report import build_report

    paths = build_report(args.run_dir, args.title)
    print(f"report: {paths['html']} (also {paths['md'].name}, {paths['json'].name})")
    return 0
