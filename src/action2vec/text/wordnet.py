"""WordNet access (stub, filled in next commit)."""

from __future__ import annotations

from pathlib import Path


def load_wordnet(path: Path | None = None):
    raise NotImplementedError
