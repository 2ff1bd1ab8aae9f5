"""Argument conventions shared by the sub-command modules."""

from __future__ import annotations

import argparse


def add_run_folder_options(parser: argparse.ArgumentParser, store_help: str) -> None:
    """``RUN_DIR`` (a folder of `action2vec demo` or `train`) and the ``--model``/``--store`` that override it."""
    parser.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="run folder of `action2vec demo` or `train`")
    parser.add_argument("--model", metavar="DIR", help="model folder (default: the run folder's)")
    parser.add_argument("--store", metavar="FILE", help=f"{store_help} (default: the run folder's)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON to FILE ('-' for stdout)")
