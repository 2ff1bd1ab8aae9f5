"""Where action2vec keeps derived files: ``$ACTION2VEC_CACHE`` or ``~/.cache/action2vec`` (:func:`action2vec.io.cache_dir`)."""

from __future__ import annotations

from action2vec.io import cache_dir

__all__ = ["cache_dir"]
