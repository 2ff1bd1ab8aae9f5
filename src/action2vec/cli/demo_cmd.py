"""``action2vec demo``: the whole pipeline on built-in toy videos, from files to a report, on a CPU.

action2vec demo --out demo            # about 2-4 minutes; rerun to reuse finished stages
action2vec demo --out quick --size quick
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.config import add_config_arguments
    from action2vec.experiments.demo import DemoConfig

    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on generated toy action videos and write a report",
        description="Generate toy action videos (shapes that slide, spin, bounce, grow, ...), extract "
        "features with the weight-free motion backbone, train Action2Vec and the pooled-feature baseline "
        "on seen classes, test zero-shot on unseen ones, run the WordNet and analogy tests, and write "
        "OUT/report.html, report.md and report.json. Nothing is downloaded. Rerunning the same command "
        "reuses every finished stage.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--size",
        default="full",
        choices=["full", "quick"],
        help="full: 60 classes x 8 videos, 5 splits; quick: 18 classes x 4 videos, 1 split (smoke test)",
    )
    p.add_argument("--config", metavar="YAML", help="demo config file (sections toy, video, compute, run, krr)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="override any config key, e.g. --set toy.videos_per_class=12 (repeatable)",
    )
    add_config_arguments(p, DemoConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from action2vec.config import load_config
    from action2vec.experiments.demo import DemoConfig, demo_config, run_demo
    from action2vec.reports.headline import headline_text

    overrides = [f"{k[len('cfg__') :]}={v}" for k, v in vars(args).items() if k.startswith("cfg__")] + list(args.set)
    cfg = load_config(DemoConfig, args.config, overrides, base=demo_config(args.size))
    start = time.perf_counter()
    result = run_demo(args.out, cfg)
    print()
    print(headline_text(result.zsl, result.wordnet, result.analogy))
    print(f"finished in {time.perf_counter() - start:.0f} s; report: {result.report['html']}")
    return 0
