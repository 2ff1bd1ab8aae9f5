"""The project's small text files: JSON results (written once, atomically) and line lists.

write_json(result, "runs/x/zsl.json")    # NaN/inf -> null, numpy -> Python, temp file then rename
write_json(rows, "-")                    # to stdout (the CLI's ``--json -``)
doc = read_json(path, "zero-shot result")
names = read_lines("classes.txt")
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from action2vec.errors import DataError

__all__ = ["json_safe", "write_json", "read_json", "read_text", "read_lines", "hash_file", "cache_dir", "save_npy"]


def json_safe(value: Any) -> Any:
    """A JSON-safe copy: NaN/inf -> None, numpy scalars/arrays -> Python, Paths -> str, tuples -> lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(data: Any, target: str | Path | None) -> Path | None:
    """Write ``data`` as indented JSON to ``target``: a file (atomically), ``"-"`` (stdout) or None (nothing)."""
    if target is None or target == "":
        return None
    text = json.dumps(json_safe(data), indent=1, default=str) + "\n"
    if str(target) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


class _Writer:
    """Only a ``write``: numpy then writes through Python's file object, which reports a refused write with the
    OS's reason (``tofile`` on a real file says only "N requested and M written")."""

    def __init__(self, fh: Any) -> None:
        self.write = fh.write


def save_npy(path: str | Path, array: Any) -> None:
    """``numpy.save`` of ``array`` to ``path`` (no pickles); an OS refusal (no space...) is an OSError naming
    ``path``."""
    import numpy as np

    try:
        with open(path, "wb") as fh:
            np.save(_Writer(fh), array, allow_pickle=False)
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """The parsed JSON of ``path``, or DataError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: {what} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what} ({exc.strerror})") from None


def read_text(path: str | Path, what: str = "file") -> str:
    """The text of a UTF-8 file (with or without BOM), or DataError naming the file and the problem (missing,
    a folder, unreadable, not text)."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: {what} expected, but this is a directory")
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: {what} is not a text file (not UTF-8 at byte {exc.start})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what} ({exc.strerror})") from None


def read_lines(path: str | Path, what: str = "file") -> list[str]:
    """Non-empty, stripped lines of a text file (UTF-8 with or without BOM, CRLF or LF)."""
    return [line.strip() for line in read_text(path, what).splitlines() if line.strip()]


def hash_file(path: str | Path, digest: Any = None) -> Any:
    """Feed the bytes of ``path`` into ``digest`` (default a new SHA-256) block by block; returns the digest."""
    import hashlib

    digest = digest if digest is not None else hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root of derived files (created): ``$ACTION2VEC_CACHE`` or ``~/.cache/action2vec``,
    e.g. ``cache_dir("text")``."""
    root = os.environ.get("ACTION2VEC_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "action2vec"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
