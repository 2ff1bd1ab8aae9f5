"""What the web explorer shows, without the web: a model, the embeddings of a store's videos, their class
means and a 2-D map, and the questions the page asks of them.

    paths = explorer_paths("demo_run")                      # model, store, index of a run folder
    explorer = Explorer.open(paths, ServeSettings())        # loads the model, the index (or builds one), the map
    explorer.search_text("spin star", k=10)                 # Neighbours: nearest classes and videos
    explorer.analogy("spin ball", "ball", "box", k=5)       # AnalogyAnswer: nearest classes to A - B + C
    upload = explorer.add_upload(path, "clip.mp4")          # UploadResult (embedded once, kept by id)
    explorer.rank_upload(upload.id, ["spin star", "grow box"])

Class means are the means of the unit video embeddings of each class (``evaluation.class_vectors``), the
class vectors of the project's WordNet and analogy tests; nearest classes are ranked by cosine to them.
Videos are searched through a search index (``action2vec.search``): the one given, else the run folder's
when this model made it from this store, else one built at start-up in a temporary folder (exact below
``IndexSettings.exact_below`` videos).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from action2vec.config import check_ranges, option
from action2vec.errors import ConfigError, DataError
from action2vec.evaluation.analogy import AnalogyPair
from action2vec.evaluation.class_vectors import class_means
from action2vec.experiments.semantic import embed_nouns
from action2vec.extras import require
from action2vec.inference import Action2Vec
from action2vec.linalg import l2_normalize
from action2vec.model_folder import WEIGHTS_FILE
from action2vec.search import (
    EmbedSettings,
    IndexSettings,
    VideoIndex,
    index_store,
    locate_index,
    locate_run,
    model_fingerprint,
    stale_reason,
)
from action2vec.serve.files import NotFound, VideoFiles, video_root
from action2vec.serve.previews import Preview, Previews
from action2vec.store import Store, open_store
from action2vec.text import create_embedder

__all__ = [
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
    "Explorer",
    "TooLarge",
]

log = logging.getLogger(__name__)

MAX_LABELS = 500  # label texts one ranking may hold
MAX_TEXT = 300  # characters of one query or label text
NOUNS_KEPT = 1024  # analogy noun vectors kept for the next question


class TooLarge(DataError):
    """An upload over the size limit (HTTP 413)."""


@dataclass
class ServeSettings:
    """How the explorer serves a model (``action2vec serve --serve.KEY VALUE``)."""

    max_upload_mb: float = option(200.0, "largest video file accepted for upload, in MiB", gt=0)
    map_videos: int = option(600, "videos drawn on the map beside the class means (evenly over classes; 0: none)", ge=0)
    map_method: Literal["tsne", "umap"] = option("tsne", "2-D layout of the map: tsne, or umap (needs umap-learn)")
    preview_size: int = option(128, "short side of the video previews, in pixels (never scaled up)", ge=16, le=1024)
    preview_frames: int = option(12, "frames in a video preview", ge=1, le=64)
    preview_cache: int = option(1024, "video previews kept in memory", ge=0)
    uploads_kept: int = option(32, "uploaded videos whose embeddings are kept for re-ranking", ge=1)
    device: str = option("cpu", "torch device of the model", nonempty=True)
    seed: int = option(0, "seed of the map's layout and of its sample of videos", ge=0)


@dataclass(frozen=True)
class ExplorerPaths:
    """What the server was given: the model, the store (video paths, labels), an index, the folders it may read."""

    model_dir: Path
    store: Path | None = None
    index_dir: Path | None = None  # given with --index: used as it is (refused if of another model)
    run_index: Path | None = None  # the run folder's index/: used when this model made it from this store
    run_dir: Path | None = None
    video_roots: tuple[Path, ...] = ()  # --videos; empty: the folder the store's recorded videos share
    backbone_weights: Path | None = None  # for uploads, when the store was extracted with pretrained weights


def explorer_paths(
    run_dir: str | Path | None = None,
    *,
    model: str | Path | None = None,
    store: str | Path | None = None,
    index: str | Path | None = None,
    videos: Sequence[str | Path] = (),
    weights: str | Path | None = None,
) -> ExplorerPaths:
    """Resolve a run folder and the overrides into :class:`ExplorerPaths`; DataError/ConfigError (one line)
    when something named is missing. Reads no model or store yet."""
    if run_dir is not None and not Path(run_dir).is_dir():
        raise DataError(f"{run_dir}: run folder not found")
    run = locate_run(run_dir) if run_dir is not None and not (model and (store or index)) else None
    model_dir = Path(model) if model else (run.model_dir if run else None)
    if model_dir is None:
        raise ConfigError("give a run folder (of `action2vec demo` or `train`), or --model with --store or --index")
    if not (model_dir / WEIGHTS_FILE).is_file():
        raise DataError(f"{model_dir}: not a model folder (no {WEIGHTS_FILE})")
    index_dir = locate_index(index) if index else None
    store_path = Path(store) if store else (run.store if run else None)
    if store_path is None and index_dir is not None:
        recorded = VideoIndex.open(index_dir).info.store_path
        store_path = Path(recorded) if recorded and Path(recorded).is_file() else None
    if store_path is None and index_dir is None:
        raise ConfigError("give --store FILE (the videos to explore) or --index INDEX")
    if store_path is not None and not store_path.is_file():
        raise DataError(f"{store_path}: feature store not found")
    for folder in videos:
        if not Path(folder).is_dir():
            raise DataError(f"{folder}: --videos folder not found")
    if weights is not None and not Path(weights).exists():
        raise DataError(f"{weights}: backbone weights not found")
    return ExplorerPaths(
        model_dir,
        store_path,
        index_dir,
        run.index_dir if run else None,
        Path(run_dir) if run_dir is not None else None,
        tuple(Path(v) for v in videos),
        Path(weights) if weights is not None else None,
    )


@dataclass(frozen=True)
class ClassHit:
    """A class and the cosine of its class mean with the query."""

    class_: str
    score: float
    videos: int  # videos of the class in the store

    def to_json(self) -> dict[str, Any]:
        return {"class": self.class_, "score": self.score, "videos": self.videos}


@dataclass(frozen=True)
class VideoHit:
    """A video of the store, its class and cosine with the query; ``on_disk``: a preview can be made."""

    key: str
    class_: str | None
    score: float
    on_disk: bool

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "class": self.class_, "score": self.score, "on_disk": self.on_disk}


@dataclass
class Neighbours:
    """The nearest classes and videos of one query, best first."""

    classes: list[ClassHit]
    videos: list[VideoHit]

    def to_json(self) -> dict[str, Any]:
        return {"classes": [c.to_json() for c in self.classes], "videos": [v.to_json() for v in self.videos]}


@dataclass(frozen=True)
class AnalogyTerm:
    """One term of A - B + C: a class (its class mean) or a label text (its text vector)."""

    text: str
    kind: Literal["class", "text"]

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind}


@dataclass
class AnalogyAnswer:
    """The nearest classes to A - B + C (the classes among the terms left out)."""

    terms: list[AnalogyTerm]  # A, B, C
    classes: list[ClassHit]
    left_out: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "terms": [t.to_json() for t in self.terms],
            "classes": [c.to_json() for c in self.classes],
            "left_out": self.left_out,
        }


@dataclass(frozen=True)
class MapPoint:
    """A point of the 2-D map: a class mean (``name`` is the class) or a video (``name`` is its key)."""

    kind: Literal["class", "video"]
    name: str
    class_: str | None
    x: float  # in [0, 1]; dots spread apart (spread_points)
    y: float  # in [0, 1]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "class": self.class_, "x": self.x, "y": self.y}


@dataclass
class UploadResult:
    """An uploaded video: its id (for :meth:`Explorer.rank_upload`) and its nearest classes and videos."""

    id: str
    name: str
    neighbours: Neighbours

    def to_json(self) -> dict[str, Any]:
        return {"upload": self.id, "name": self.name, **self.neighbours.to_json()}


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float  # cosine of the label text's vector with the video's embedding

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score}


@dataclass
class _Upload:
    name: str
    vector: np.ndarray  # (E,) unit


def _top(scores: np.ndarray, k: int, leave_out: Sequence[int] = ()) -> list[int]:
    """Positions of the ``k`` highest scores, best first (ties by position), ``leave_out`` skipped."""
    s = np.asarray(scores, dtype=np.float64).copy()
    s[list(leave_out)] = -np.inf
    order = np.lexsort((np.arange(len(s)), -s))
    return [int(i) for i in order[: min(k, len(s) - len(set(leave_out)))]]


def _check_k(k: int) -> int:
    if not 1 <= int(k) <= 1000:
        raise ConfigError(f"k: {k} is out of range (must be >= 1 and <= 1000)")
    return int(k)


def _clean_text(text: str, what: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        raise ConfigError(f"{what} is empty: type a label text")
    if len(text) > MAX_TEXT:
        raise ConfigError(f"{what} is {len(text)} characters long (at most {MAX_TEXT})")
    return text


@dataclass
class _Space:
    """The class means and their videos' counts (C rows, in the order of ``classes``)."""

    classes: list[str]
    vectors: np.ndarray  # (C, E) unit
    counts: list[int]
    position: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, index: VideoIndex) -> "_Space":
        labels = [c or "" for c in index.classes]
        classes = sorted({c for c in labels if c})
        if not classes:
            return cls([], np.zeros((0, index.dim), np.float32), [], {})
        labelled = np.flatnonzero(np.array([bool(c) for c in labels]))
        means = class_means(np.asarray(index.vectors)[labelled], [labels[i] for i in labelled], classes)
        counts = [labels.count(c) for c in classes]
        return cls(classes, l2_normalize(means), counts, {c: i for i, c in enumerate(classes)})


class Explorer:
    """A model and the embedded videos of a store, answering the explorer's questions (thread-safe)."""

    def __init__(
        self,
        model: Action2Vec,
        index: VideoIndex,
        files: VideoFiles,
        settings: ServeSettings,
        index_note: str = "",
        temporary: tempfile.TemporaryDirectory | None = None,
    ) -> None:
        self.model = model
        self.index = index
        self.files = files
        self.settings = settings
        self.index_note = index_note  # where the index came from, for the page
        self.space = _Space.of(index)
        self.previews = Previews(settings.preview_size, settings.preview_frames, settings.preview_cache)
        self.map: list[MapPoint] = []
        self._uploads: OrderedDict[str, _Upload] = OrderedDict()
        self._nouns: OrderedDict[str, np.ndarray] = OrderedDict()  # noun text -> unit T(noun), most recent last
        self._lock = threading.Lock()  # the model (its text embedder and backbone are built lazily)
        self._nouns_embedder: Any = None  # the text embedder of analogy nouns (built on first use)
        self._temporary = temporary

    # ----------------------------------------------------------------------------------- start-up

    @classmethod
    def open(cls, paths: ExplorerPaths, settings: ServeSettings | None = None) -> "Explorer":
        """Load the model and the store, find or build the index, compute the class means and the map."""
        settings = settings or ServeSettings()
        check_ranges(settings, "serve")
        model = Action2Vec.load(paths.model_dir, device=settings.device, backbone_weights=paths.backbone_weights)
        store = open_store(paths.store) if paths.store is not None else None
        temporary: tempfile.TemporaryDirectory | None = None
        index, note = _usable_index(paths, store)
        if index is None:
            if store is None or paths.store is None:  # explorer_paths refuses this: no store and no index
                raise ConfigError("give --store FILE (the videos to explore) or --index INDEX")
            temporary = tempfile.TemporaryDirectory(prefix="action2vec-serve-")
            log.info(
                "embedding the %d videos of %s (`action2vec index` keeps an index for the next start)",
                len(store),
                paths.store,
            )
            index = index_store(
                paths.model_dir,
                paths.store,
                Path(temporary.name) / "index",
                settings=IndexSettings(),
                embed=EmbedSettings(device=settings.device, progress=False),
            )
            note = f"built at start-up from {paths.store} ({index.kind}, not kept)"
        roots = (
            [paths.run_dir, *paths.video_roots]
            if paths.video_roots
            else [paths.run_dir, *([video_root(store)] if store is not None else [])]
        )
        explorer = cls(model, index, VideoFiles(store, roots), settings, note, temporary)
        explorer.map = explorer._layout()
        log.info(
            "%d videos of %d classes; previews from %s",
            len(index),
            len(explorer.space.classes),
            ", ".join(map(str, explorer.files.roots)) or "nowhere",
        )
        return explorer

    def close(self) -> None:
        """Remove the temporary index (if one was built)."""
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def _layout(self) -> list[MapPoint]:
        """Class means and up to ``map_videos`` videos (evenly over classes) laid out in 2-D together."""
        threadpool_limits = require("threadpoolctl", "the explorer's map").threadpool_limits

        from action2vec.reports.plots import embedding_2d

        picked = self._map_videos()
        vectors = (
            np.concatenate([self.space.vectors, np.asarray(self.index.vectors)[picked]])
            if len(picked)
            else self.space.vectors
        )
        if len(vectors) == 0:
            return []
        # One thread: for a few hundred points OpenMP's extra threads cost more than they give, by 10x and
        # more on a busy machine (0.5 s against 3-30 s for the quick demo's 90 points on 2 shared cores).
        with threadpool_limits(1):
            xy = np.asarray(embedding_2d(vectors, self.settings.map_method, self.settings.seed), dtype=np.float64)
        xy = spread_points(_unit_square(xy), len(self.space.classes), seed=self.settings.seed)
        points = [MapPoint("class", c, c, float(x), float(y)) for c, (x, y) in zip(self.space.classes, xy)]
        for i, (x, y) in zip(picked, xy[len(self.space.classes) :]):
            points.append(MapPoint("video", self.index.keys[i], self.index.classes[i] or None, float(x), float(y)))
        return points

    def _map_videos(self) -> np.ndarray:
        """Positions of the videos on the map: at most ``map_videos``, taking classes in turn (seeded)."""
        limit = self.settings.map_videos
        if limit == 0:
            return np.zeros(0, np.int64)
        rng = np.random.default_rng(self.settings.seed)
        labels = np.array([c or "" for c in self.index.classes])
        groups = [rng.permutation(np.flatnonzero(labels == c)) for c in sorted(set(labels))]
        picked: list[int] = []
        for rank in range(max((len(g) for g in groups), default=0)):
            picked.extend(int(g[rank]) for g in groups if rank < len(g))
            if len(picked) >= limit:
                break
        return np.sort(np.array(picked[:limit], dtype=np.int64))

    # ------------------------------------------------------------------------------------ queries

    def info(self) -> dict[str, Any]:
        """What is being served, for the page's header and ``GET /api/info``."""
        m = self.model
        return {
            "model": str(m.model_dir),
            "variant": m.info.model.variant,
            "embed_dim": m.embed_dim,
            "text": m.text,
            "prompts": list(m.prompts),
            "videos": len(self.index),
            "classes": len(self.space.classes),
            "index": {"kind": self.index.kind, "source": self.index_note},
            "video_folders": [str(r) for r in self.files.roots],
            "max_upload_bytes": self.max_upload_bytes,
            "map": {"method": self.settings.map_method, "points": len(self.map)},
        }

    @property
    def max_upload_bytes(self) -> int:
        return int(self.settings.max_upload_mb * 1024 * 1024)

    def class_list(self) -> list[dict[str, Any]]:
        """Every class with its number of videos."""
        return [{"class": c, "videos": n} for c, n in zip(self.space.classes, self.space.counts)]

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Label texts -> (N, E) unit vectors (the model's text embedder and prompts)."""
        with self._lock:
            return self.model.encode_text(list(texts))

    def noun_vectors(self, nouns: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit T(noun) vectors (E,) as the analogy test embeds its nouns (``experiments.semantic.embed_nouns``:
        the raw text with the model's text embedder and oov policy, no prompts or label normalisation);
        each noun is embedded once (the last ``NOUNS_KEPT`` are kept)."""
        with self._lock:  # the cache and the embedder (built once) are shared by the server's threads
            todo = sorted({n for n in nouns if n not in self._nouns})
            if todo:
                for noun, vector in embed_nouns(
                    [AnalogyPair(0, 0, "", n, n) for n in todo], self._noun_embedder(), oov=self.model.label_vectors.oov
                ).items():
                    if len(vector) != self.model.embed_dim:
                        raise DataError(
                            f"text embedder {self.model.text!r} gives {len(vector)}-d vectors, "
                            f"the model {self.model.embed_dim}-d"
                        )
                    self._nouns[noun] = l2_normalize(vector)
            for noun in nouns:
                self._nouns.move_to_end(noun)
            while len(self._nouns) > NOUNS_KEPT:
                self._nouns.popitem(last=False)
            return {noun: self._nouns[noun] for noun in nouns}

    def _noun_embedder(self) -> Any:
        """The model's text embedder with its oov policy, built on first use (call under the lock)."""
        if self._nouns_embedder is None:
            spec = self.model.text
            if not spec:
                raise DataError(
                    f"{self.model.model_dir}: its label vectors were given by hand (no text embedder "
                    "recorded), so it cannot embed new nouns; give class names as terms"
                )
            self._nouns_embedder = create_embedder(spec, oov=self.model.label_vectors.oov)
        return self._nouns_embedder

    def neighbours(
        self, vector: np.ndarray, k: int, *, leave_class: str | None = None, leave_video: str | None = None
    ) -> Neighbours:
        """The ``k`` nearest classes (cosine to class means) and videos (the index) of a vector (E,)."""
        k = _check_k(k)
        q = l2_normalize(np.asarray(vector, dtype=np.float32).reshape(-1))
        classes = self._nearest_classes(q, k, [self.space.position[leave_class]] if leave_class else [])
        hits = self.index.search(q[None], k + (leave_video is not None))[0]
        videos = [VideoHit(h.key, h.class_, h.score, self.files.exists(h.key)) for h in hits if h.key != leave_video]
        return Neighbours(classes, videos[:k])

    def _nearest_classes(self, q: np.ndarray, k: int, leave_out: Sequence[int] = ()) -> list[ClassHit]:
        if not self.space.classes:
            return []
        scores = self.space.vectors @ q  # (C,)
        return [
            ClassHit(self.space.classes[i], float(scores[i]), self.space.counts[i]) for i in _top(scores, k, leave_out)
        ]

    def search_text(self, text: str, k: int = 10) -> Neighbours:
        """Nearest classes and videos of a label text."""
        text = _clean_text(text, "the query")
        return self.neighbours(self.embed_text([text])[0], k)

    def neighbours_of_class(self, name: str, k: int = 10) -> Neighbours:
        """Nearest other classes and nearest videos of a class's mean."""
        if name not in self.space.position:
            known = ", ".join(self.space.classes[:3])
            raise NotFound(f"unknown class {name!r}" + (f" (the store's classes are e.g. {known})" if known else ""))
        return self.neighbours(self.space.vectors[self.space.position[name]], k, leave_class=name)

    def neighbours_of_video(self, key: str, k: int = 10) -> Neighbours:
        """Nearest classes and other videos of a video of the index."""
        try:
            vector = self.index.vector(key)
        except DataError:
            raise NotFound(f"unknown video {key!r}") from None
        return self.neighbours(vector, k, leave_video=key)

    def analogy(self, a: str, b: str, c: str, k: int = 5) -> AnalogyAnswer:
        """The nearest classes to A - B + C, as the project's analogy test reads it: each term a class mean
        when it names a class, else A the vector of a label text and B, C the test's noun vectors T(noun)
        (:meth:`noun_vectors`); every vector unit-normalised; the classes among the terms left out (as the
        test leaves out its query class). Nearest by euclidean distance to the unit class means, which ranks
        as cosine does; the score shown is the cosine."""
        k = _check_k(k)
        texts = [_clean_text(t, f"term {n}") for n, t in zip("ABC", (a, b, c))]
        if not self.space.classes:
            raise DataError("the store has no labelled videos, so there are no classes to answer with")
        terms = [AnalogyTerm(t, "class" if t in self.space.position else "text") for t in texts]
        text_vectors = {}
        if terms[0].kind == "text":
            text_vectors[terms[0].text] = self.embed_text([terms[0].text])[0]
        nouns = self.noun_vectors([t.text for t in terms[1:] if t.kind == "text"])
        vec = [
            self.space.vectors[self.space.position[t.text]]
            if t.kind == "class"
            else (text_vectors[t.text] if i == 0 else nouns[t.text])
            for i, t in enumerate(terms)
        ]
        query = vec[0] - vec[1] + vec[2]
        left_out = sorted({t.text for t in terms if t.kind == "class"})
        classes = self._nearest_classes(l2_normalize(query), k, [self.space.position[n] for n in left_out])
        return AnalogyAnswer(terms, classes, left_out)

    def preview(self, key: str) -> Preview:
        """The animated preview of a stored video; NotFound when its file is unknown, elsewhere or unreadable."""
        path = self.files.path(key)
        try:
            return self.previews.get(path)
        except DataError as exc:
            raise NotFound(f"video {key!r}: no preview ({str(exc).replace(str(path) + ': ', '')})") from None

    # ------------------------------------------------------------------------------------ uploads

    def add_upload(self, path: str | Path, name: str, k: int = 10) -> UploadResult:
        """Embed a video file (``name``: what the user called it, for messages) and keep its embedding;
        DataError naming ``name`` when it is not a readable video."""
        path = Path(path)
        try:
            with self._lock:
                vector = self.model.encode_video([path])[0]
        except DataError as exc:
            text = str(exc)
            if not text.startswith(f"{path}: "):
                raise
            reason = text[len(f"{path}: ") :]
            raise DataError(
                f"{name}: {reason}" if reason.startswith("not a video") else f"{name}: not a readable video ({reason})"
            ) from None
        upload_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._uploads[upload_id] = _Upload(name, vector)
            while len(self._uploads) > self.settings.uploads_kept:
                self._uploads.popitem(last=False)
        return UploadResult(upload_id, name, self.neighbours(vector, k))

    def rank_upload(self, upload_id: str, labels: Sequence[str]) -> list[LabelScore]:
        """The label texts ranked by cosine with an uploaded video's embedding (zero-shot), best first."""
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None:
            raise NotFound(
                f"unknown upload {upload_id!r} (uploads are kept while the server runs, the last "
                f"{self.settings.uploads_kept}); upload the video again"
            )
        cleaned = list(dict.fromkeys(" ".join(str(t).split()) for t in labels))
        cleaned = [t for t in cleaned if t]
        if not cleaned:
            raise ConfigError("no label texts given: type one or more, one per line")
        if len(cleaned) > MAX_LABELS or any(len(t) > MAX_TEXT for t in cleaned):
            raise ConfigError(f"at most {MAX_LABELS} label texts of at most {MAX_TEXT} characters each")
        scores = self.embed_text(cleaned) @ upload.vector  # (M,)
        return [LabelScore(cleaned[i], float(scores[i])) for i in _top(scores, len(cleaned))]


# The smallest distances between dots on the map, as fractions of its width (the page draws it 1000 units wide,
# class dots of radius 10, video dots of radius 5): a video never hides under another dot.
MAP_GAP_VIDEOS = 0.014
MAP_GAP_CLASS = 0.02


def _unit_square(xy: np.ndarray) -> np.ndarray:
    """Shift and scale a layout (N, 2) into [0, 1] with one scale on both axes (distances keep proportions)."""
    xy = xy - xy.min(axis=0)
    return xy / max(float(xy.max()), 1e-12)


def spread_points(xy: np.ndarray, n_classes: int, *, seed: int = 0, iterations: int = 500) -> np.ndarray:
    """Push apart the points of a map (N, 2) in [0, 1], the first ``n_classes`` being class means, until no two
    videos are closer than MAP_GAP_VIDEOS and no video or class is closer than MAP_GAP_CLASS to a class; the
    layout is rescaled into [0, 1] on the way. Points that coincide part in seeded random directions. -> (N, 2)"""
    from scipy.spatial import cKDTree

    p = np.asarray(xy, np.float64).copy()
    if len(p) < 2:
        return p
    rng = np.random.default_rng(seed)
    is_class = np.arange(len(p)) < n_classes
    for _ in range(iterations):
        pairs = cKDTree(p).query_pairs(MAP_GAP_CLASS * 1.02, output_type="ndarray")  # (M, 2) candidates
        if len(pairs) == 0:
            break
        i, j = pairs[:, 0], pairs[:, 1]
        need = np.where(is_class[i] | is_class[j], MAP_GAP_CLASS, MAP_GAP_VIDEOS) * 1.02
        d = p[i] - p[j]
        dist = np.hypot(d[:, 0], d[:, 1])
        close = dist < need
        if not close.any():
            break
        i, j, d, dist, need = i[close], j[close], d[close], dist[close], need[close]
        same = dist < 1e-9
        d[same] = rng.normal(size=(int(same.sum()), 2))
        dist[same] = np.hypot(d[same, 0], d[same, 1])
        step = ((need - dist) / 2 / np.maximum(dist, 1e-12))[:, None] * d
        move = np.zeros_like(p)
        np.add.at(move, i, step)
        np.add.at(move, j, -step)
        p = _unit_square(p + move)
    return p


def _usable_index(paths: ExplorerPaths, store: Store | None) -> tuple[VideoIndex | None, str]:
    """The index given (refused if of another model), else the run's own when this model made it from this
    store, else (None, "") so one is built."""
    fingerprint = model_fingerprint(paths.model_dir)
    if paths.index_dir is not None:
        return VideoIndex.open(paths.index_dir, model_fingerprint=fingerprint), f"{paths.index_dir}"
    if paths.run_index is None or not (paths.run_index / "index.json").is_file():
        return None, ""
    try:
        index = VideoIndex.open(paths.run_index, model_fingerprint=fingerprint)
    except DataError as exc:
        log.warning("not using %s: %s", paths.run_index, exc)
        return None, ""
    if store is not None and index.keys != list(store.keys):
        log.warning(
            "not using %s: it indexes other videos than %s (rerun `action2vec index`)", paths.run_index, paths.store
        )
        return None, ""
    why = stale_reason(index.info, store) if store is not None else ""
    if why:
        log.warning("not using %s: %s; rerun `action2vec index` to keep one for the next start", paths.run_index, why)
        return None, ""
    return index, str(paths.run_index)
