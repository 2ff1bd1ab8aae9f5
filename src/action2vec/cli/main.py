"""``action2vec`` entry point: one sub-command module per pipeline stage.

Each module in ``COMMAND_MODULES`` has ``register(subparsers)``, which adds its parser(s) and sets
``func(args) -> int`` as the parser default. Heavy imports stay inside ``func`` so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from action2vec import __version__
from action2vec.errors import Action2VecError

COMMAND_MODULES = [
    "action2vec.cli.extract_cmd",
    "action2vec.cli.store_cmd",
    "action2vec.cli.labels_cmd",
    "action2vec.cli.train_cmd",
    "action2vec.cli.classify_cmd",
    "action2vec.cli.index_cmd",
    "action2vec.cli.search_cmd",
    "action2vec.cli.zsl_cmd",
    "action2vec.cli.eval_cmd",
    "action2vec.cli.export_cmd",
    "action2vec.cli.report_cmd",
    "action2vec.cli.demo_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="action2vec",
        description="Learn a joint embedding of actions in video and their names; zero-shot recognition "
        "and semantic evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"action2vec {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # command not part of this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Action2VecError as exc:
        print(f"action2vec {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"action2vec {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
