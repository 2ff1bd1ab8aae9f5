"""Helpers shared by the sub-command modules (argument conventions, JSON output)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON to FILE ('-' for stdout)")


def write_json(data: Any, target: str | None) -> None:
    """Write ``data`` as JSON to ``target`` ('-' = stdout); nothing when target is None."""
    if not target:
        return
    text = json.dumps(data, indent=2, default=str) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def read_lines(path: str | Path) -> list[str]:
    """Non-empty, stripped lines of a text file (class lists, label texts)."""
    from action2vec.errors import DataError

    p = Path(path)
    if not p.is_file():
        raise DataError(f"file not found: {p}")
    return [ln.strip() for ln in p.read_text().splitlines() if ln.strip()]
