"""Argument conventions shared by the sub-command modules."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from action2vec.config import check_ranges, range_text
from action2vec.errors import ConfigError


def add_run_folder_options(parser: argparse.ArgumentParser, store_help: str) -> None:
    """``RUN_DIR`` (a folder of `action2vec demo` or `train`) and the ``--model``/``--store`` that override it."""
    parser.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="run folder of `action2vec demo` or `train`")
    parser.add_argument("--model", metavar="DIR", help="model folder (default: the run folder's)")
    parser.add_argument("--store", metavar="FILE", help=f"{store_help} (default: the run folder's)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON to FILE ('-' for stdout)")


def range_help(cls: type, name: str) -> str:
    """`` (must be >= 1)``: the declared range of field ``name`` of config ``cls``, for a plain option's help."""
    meta = {f.name: f.metadata for f in dataclasses.fields(cls)}[name]
    text = range_text(meta)
    return f" (must be {text})" if text else ""


def check_option_ranges(args: argparse.Namespace, cls: type, options: dict[str, str]) -> None:
    """Check plain options against the ranges that the config fields behind them declare, before any work.

    ``options``: ``{"--seeds": "seeds"}`` (option -> field of ``cls``). Raises one ConfigError line naming the
    option, its value and its range.
    """
    base: Any = cls()
    for opt, name in options.items():
        value = getattr(args, opt.lstrip("-").replace("-", "_"))
        try:
            check_ranges(dataclasses.replace(base, **{name: value}))
        except ConfigError:
            meta = {f.name: f.metadata for f in dataclasses.fields(cls)}[name]
            raise ConfigError(f"option {opt}: {value!r} is out of range (must be {range_text(meta)})") from None
