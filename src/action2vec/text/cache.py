"""Where action2vec keeps derived files: ``$ACTION2VEC_CACHE`` or ``~/.cache/action2vec``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root (created), e.g. ``cache_dir("text")``."""
    root = os.environ.get("ACTION2VEC_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "action2vec"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
