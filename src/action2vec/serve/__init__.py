"""The web explorer (``action2vec serve``): a page and a JSON API over a trained model and a store's videos.

    from action2vec.serve import Explorer, ServeSettings, explorer_paths
    from action2vec.serve.app import create_app          # needs the `serve` extra (FastAPI)

    explorer = Explorer.open(explorer_paths("demo_run"), ServeSettings())
    app = create_app(explorer)                            # run it with uvicorn, or test it with TestClient

``Explorer`` answers the page's questions without the web (nearest classes and videos of a label text, a
class or a video; A - B + C; the 2-D map; uploads ranked against label texts); ``create_app`` puts it
behind HTTP. See docs/explorer.md.
"""

from action2vec.serve.explorer import (
    AnalogyAnswer,
    AnalogyTerm,
    ClassHit,
    Explorer,
    ExplorerPaths,
    LabelScore,
    MapPoint,
    Neighbours,
    ServeSettings,
    TooLarge,
    UploadResult,
    VideoHit,
    explorer_paths,
)
from action2vec.serve.files import NotFound, VideoFiles, video_root
from action2vec.serve.previews import Preview, Previews, video_preview

__all__ = [
    "Explorer",
    "ServeSettings",
    "ExplorerPaths",
    "explorer_paths",
    "ClassHit",
    "VideoHit",
    "Neighbours",
    "AnalogyTerm",
    "AnalogyAnswer",
    "MapPoint",
    "UploadResult",
    "LabelScore",
    "TooLarge",
    "NotFound",
    "VideoFiles",
    "video_root",
    "Preview",
    "Previews",
    "video_preview",
]
