"""Argument conventions shared by the sub-command modules."""

from __future__ import annotations

import argparse


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON to FILE ('-' for stdout)")
