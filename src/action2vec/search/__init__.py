"""Text-to-video search over a store: embed every video once, then find the nearest videos to a label
text, a video of the store or a new video file.

    from action2vec.search import index_store, VideoIndex
    index = index_store("runs/x/model", "features.h5", "runs/x/index")    # resumable; exact or IVF by size
    hits = index.search(model.encode_text(["play violin"]), k=10)[0]      # [SearchHit(key, class_, score)]

See docs/search.md for the index format, the automatic choice of index kind and the benchmark behind it.
"""

from action2vec.search.embed import (
    MODEL_FILES,
    EmbedSettings,
    check_store_unchanged,
    embed_store,
    index_store,
    model_fingerprint,
    stale_reason,
)
from action2vec.search.index import (
    INDEX_FORMAT,
    KINDS,
    IndexInfo,
    IndexSettings,
    SearchHit,
    VideoIndex,
    build_index,
    check_build,
    choose_kind,
)
from action2vec.search.locate import INDEX_DIR, RunPaths, locate_index, locate_model, locate_run

__all__ = [
    "SearchHit",
    "IndexSettings",
    "IndexInfo",
    "VideoIndex",
    "build_index",
    "check_build",
    "choose_kind",
    "KINDS",
    "INDEX_FORMAT",
    "EmbedSettings",
    "model_fingerprint",
    "embed_store",
    "index_store",
    "check_store_unchanged",
    "stale_reason",
    "MODEL_FILES",
    "RunPaths",
    "locate_run",
    "locate_model",
    "locate_index",
    "INDEX_DIR",
]
