"""Import precomputed per-video features (``.npy`` files, one ``.npz``, one HDF5 file) into a feature store.

The result is the store ``extract`` writes (same layout, same metadata keys), so every command reads it.
Source conventions (docs/import.md has worked examples):

* **folder** (format ``npy``): every ``*.npy`` file below the folder is one video, key = its path relative to
  the folder without the suffix (``Walk/v_1.npy`` -> ``Walk/v_1``). A ``*.npz`` holding exactly one array is
  one video too, so ``a.npy`` beside ``a.npz`` is a duplicate key.
* **one .npz** (format ``npz``): every member is one video, key = member name.
* **one HDF5 file** (format ``hdf5``): either *packed* -- root datasets ``keys`` (N,) strings and
  ``features``, 2-D ``(rows, D)`` with ``lengths`` (N,) consecutive rows per video (without ``lengths``
  each row is one video), or 3-D ``(N, T, D)`` with optional ``lengths`` (true steps; rows past a video's
  length are padding and are not stored) -- or *one dataset per video*: key = the dataset's path in the file
  (``group/name``); when every dataset has the same name inside its own group (``v_x/c3d_features``), the
  key is the group's path.

Arrays are ``(T, D)`` or ``(D,)`` (one step); any integer or float dtype, stored as float32.

Checks run before anything is written (shapes, dtypes, duplicate keys and labels come from the headers);
finiteness needs the data and is checked on each batch before it is written; a failure removes the part
files this run wrote. Writing goes through :class:`~action2vec.store.StoreWriter` part files under the
store's lock, so an interrupted import resumes where it stopped. Memory is bounded by about two batches of
``batch_bytes`` (the one being written, the next being read), whatever the size of the source.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import h5py
import numpy as np

from action2vec.datasets.base import VIDEO_SUFFIXES
from action2vec.errors import ConfigError, DataError
from action2vec.store.hdf5 import FORMAT, FeatureStore, StoreWriter, merge_parts, parts_dir
from action2vec.store.lock import StoreLock

log = logging.getLogger(__name__)

__all__ = ["FORMATS", "FROM_FOLDER", "ImportResult", "SourceVideo", "import_features", "read_label_file"]

FORMATS = ("npy", "npz", "hdf5")
FROM_FOLDER = "from-folder"
_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")
_HEADER_KEYS = {"key", "video", "video_id", "id", "name", "path", "file"}
# suffixes a labels file may write after a video name: the video's own, or the feature file's
_FILE_SUFFIXES = (".npy", ".npz", *VIDEO_SUFFIXES)
_HEADER_LABELS = {"label", "class", "class_name", "classname", "action", "category"}
# the metadata keys `extract` writes; an import records the same keys (None where it cannot know them)
_EXTRACT_META = (
    "backbone",
    "layer",
    "dim",
    "clip_len",
    "pretrained",
    "random_weights",
    "weights_sha256",
    "fps",
    "duration",
    "stride",
    "frames",
    "steps",
    "decoder",
    "frame_size",
    "short_side",
    "amp",
    "pca",
    "padding",
)


@dataclass(frozen=True)
class SourceVideo:
    """One video of a source, as its header describes it (no data read)."""

    key: str
    file: Path  # the file that holds it
    where: str  # inside the file: npz member or HDF5 dataset ("" for a .npy file)
    shape: tuple[int, ...]
    dtype: np.dtype
    row: int = 0  # packed HDF5: first row (2-D) or video index (3-D)
    steps: int = 0  # packed HDF5: rows to take

    @property
    def name(self) -> str:
        """The video's location for messages: ``file`` or ``file:where``."""
        return f"{self.file}:{self.where}" if self.where else str(self.file)

    @property
    def dim(self) -> int:
        return int(self.shape[-1])

    @property
    def length(self) -> int:
        """Steps stored (T; 1 for a (D,) vector)."""
        return self.steps or (int(self.shape[0]) if len(self.shape) == 2 else 1)


@dataclass
class ImportResult:
    """What one import did; ``to_json()`` is its one JSON form."""

    store: str
    source: str
    format: str
    videos: int  # videos in the store after the import
    imported: int  # written by this run
    skipped: int  # already in the store (an earlier, interrupted run)
    dim: int
    steps_min: int
    steps_max: int
    labelled: int
    classes: int
    seconds: float
    label_source: str = ""
    unmatched_labels: int = 0  # label entries for keys the source does not hold
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "store_import", **asdict(self)}

    def summary(self) -> str:
        labels = (
            f"{self.labelled} labelled ({self.label_source}), {self.classes} classes"
            if self.label_source
            else "no labels"
        )
        return (
            f"{self.store}: {self.videos} videos imported from {self.source} ({self.format}; {self.imported} "
            f"written now, {self.skipped} already there), D={self.dim}, T {self.steps_min}..{self.steps_max}, "
            f"{labels}"
        )


# ---------------------------------------------------------------------------------------------- headers
def _npy_header(fh: Any, file: Path, where: str = "") -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a .npy header (the data is not read)."""
    name = f"{file}:{where}" if where else str(file)
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{name}: not a readable .npy array ({str(exc).splitlines()[0][:120]})") from None
    return tuple(int(s) for s in shape), np.dtype(dtype)


def _npz_members(file: Path) -> list[tuple[str, tuple[int, ...], np.dtype]]:
    """(member name, shape, dtype) of every array of an .npz, from the headers."""
    out = []
    try:
        with zipfile.ZipFile(file) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[: -len(".npy")]
                with zf.open(info) as fh:
                    shape, dtype = _npy_header(fh, file, name)
                out.append((name, shape, dtype))
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{file}: not a readable .npz file ({exc})") from None
    return out


class _Source:
    """A source of per-video arrays: the header pass (``videos``) and reading one video (``read``)."""

    format = ""

    def __init__(self, path: Path) -> None:
        self.path = path

    def videos(self) -> list[SourceVideo]:
        raise NotImplementedError

    def read(self, video: SourceVideo) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _feature_files(root: Path) -> Iterator[Path]:
    """Every ``.npy``/``.npz`` file below ``root``, through linked folders too (a features folder is often
    assembled from links), each real folder once (a link back up does not loop)."""
    seen: set[str] = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        for name in names:
            path = Path(folder) / name
            if path.suffix in (".npy", ".npz") and path.is_file():
                yield path


class _FolderSource(_Source):
    format = "npy"

    def videos(self) -> list[SourceVideo]:
        files = sorted(_feature_files(self.path))
        if not files:
            raise DataError(f"{self.path}: no .npy (or one-array .npz) files in this folder or below")
        out = []
        for f in files:
            key = PurePosixPath(f.relative_to(self.path).with_suffix("").as_posix()).as_posix()
            if f.suffix == ".npy":
                with open(f, "rb") as fh:
                    shape, dtype = _npy_header(fh, f)
                out.append(SourceVideo(key, f, "", shape, dtype))
                continue
            members = _npz_members(f)
            if len(members) != 1:
                raise DataError(
                    f"{f}: key {key!r}: a per-video .npz in a folder must hold exactly one array, it "
                    f"holds {len(members)}; import a many-array .npz as its own source"
                )
            out.append(SourceVideo(key, f, members[0][0], members[0][1], members[0][2]))
        return out

    def read(self, video: SourceVideo) -> np.ndarray:
        if video.file.suffix == ".npy":
            return np.load(video.file, allow_pickle=False)
        with np.load(video.file, allow_pickle=False) as z:
            return z[video.where]


class _NpzSource(_Source):
    format = "npz"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._npz: Any = None

    def videos(self) -> list[SourceVideo]:
        members = _npz_members(self.path)
        if not members:
            raise DataError(f"{self.path}: the .npz holds no arrays")
        return [SourceVideo(name, self.path, name, shape, dtype) for name, shape, dtype in members]

    def read(self, video: SourceVideo) -> np.ndarray:
        if self._npz is None:
            self._npz = np.load(self.path, allow_pickle=False)
        return self._npz[video.where]

    def close(self) -> None:
        if self._npz is not None:
            self._npz.close()
            self._npz = None


class _Hdf5Source(_Source):
    format = "hdf5"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._packed_layout = False
        try:
            self._f = h5py.File(path, "r")
        except OSError as exc:
            raise DataError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0][:120]})") from None
        if self._f.attrs.get("format") == FORMAT:
            self._f.close()
            raise DataError(f"{path} is already an action2vec feature store; use it as it is (or `store merge`)")

    def videos(self) -> list[SourceVideo]:
        root = self._f
        if isinstance(root.get("keys"), h5py.Dataset) and isinstance(root.get("features"), h5py.Dataset):
            self._packed_layout = True
            return self._packed()
        found: list[tuple[str, h5py.Dataset]] = []
        root.visititems(lambda name, obj: found.append((name, obj)) if isinstance(obj, h5py.Dataset) else None)
        if not found:
            raise DataError(f"{self.path}: the HDF5 file holds no datasets")
        names = [name for name, ds in found if ds.dtype.kind in "SUO"]
        if names:  # a key list under another name: the packed layout was meant
            raise DataError(
                f"{self.path}: dataset {names[0]!r} holds text, not features; a packed file names its key "
                "list 'keys' and its arrays 'features' (docs/import.md), a file of one dataset per "
                "video holds only numbers"
            )
        leaves = {PurePosixPath(name).name for name, _ in found}
        by_group = len(leaves) == 1 and len(found) > 1 and all("/" in name for name, _ in found)
        return [
            SourceVideo(
                str(PurePosixPath(name).parent) if by_group else name,
                self.path,
                name,
                tuple(int(s) for s in ds.shape),
                ds.dtype,
            )
            for name, ds in found
        ]

    def _packed(self) -> list[SourceVideo]:
        f, where = self._f, "features"
        feats = f["features"]
        keys = [k.decode("utf-8") if isinstance(k, bytes) else str(k) for k in np.asarray(f["keys"][()]).ravel()]
        lengths = np.asarray(f["lengths"][()]).ravel() if isinstance(f.get("lengths"), h5py.Dataset) else None
        if lengths is not None and len(lengths) != len(keys):
            raise DataError(f"{self.path}: 'lengths' has {len(lengths)} entries for {len(keys)} 'keys'")
        shape = tuple(int(s) for s in feats.shape)
        if feats.ndim == 3:
            n, t, d = shape
            if n != len(keys):
                raise DataError(f"{self.path}: 'features' holds {n} videos (N, T, D) for {len(keys)} 'keys'")
            lens = lengths.astype(np.int64) if lengths is not None else np.full(n, t, np.int64)
            bad = np.flatnonzero((lens < 0) | (lens > t))
            if len(bad):
                raise DataError(f"{self.path}: key {keys[bad[0]]!r}: length {lens[bad[0]]} outside 0..{t}")
            return [
                SourceVideo(k, self.path, where, (int(lens[i]), d), feats.dtype, row=i, steps=int(lens[i]))
                for i, k in enumerate(keys)
            ]
        if feats.ndim != 2:
            raise DataError(f"{self.path}: packed 'features' must be (rows, D) or (N, T, D), got {shape}")
        rows, d = shape
        lens = lengths.astype(np.int64) if lengths is not None else np.ones(len(keys), np.int64)
        if (lens < 0).any() or int(lens.sum()) != rows:
            raise DataError(
                f"{self.path}: 'lengths' add up to {int(lens.sum())} rows, 'features' has {rows}"
                if lengths is not None
                else f"{self.path}: {len(keys)} 'keys' for {rows} rows of 'features' and no 'lengths'"
            )
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]]) if len(lens) else lens
        return [
            SourceVideo(k, self.path, where, (int(lens[i]), d), feats.dtype, row=int(starts[i]), steps=int(lens[i]))
            for i, k in enumerate(keys)
        ]

    def read(self, video: SourceVideo) -> np.ndarray:
        ds = self._f[video.where]
        if not self._packed_layout:
            return ds[()]
        if ds.ndim == 3:
            return ds[video.row, : video.steps]
        return ds[video.row : video.row + video.steps]

    def close(self) -> None:
        self._f.close()


def _open_source(source: Path, fmt: str | None) -> _Source:
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"--format: must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if source.is_dir():
        if fmt not in (None, "npy"):
            raise ConfigError(f"--format {fmt}: {source} is a folder, which is read as per-video .npy files")
        return _FolderSource(source)
    if not source.is_file():
        raise DataError(f"{source}: source not found")
    if fmt is None:
        suffix = source.suffix.lower()
        with open(source, "rb") as fh:
            magic = fh.read(8)
        if suffix == ".npy" or magic.startswith(b"\x93NUMPY"):
            raise DataError(
                f"{source}: one .npy file is one array; give the folder of per-video .npy files, or "
                "write an (N, D) array with its key list as an HDF5 file with datasets 'keys' and "
                "'features' (docs/import.md)"
            )
        if suffix == ".npz" or (suffix not in _HDF5_SUFFIXES and magic.startswith(b"PK")):
            fmt = "npz"
        elif suffix in _HDF5_SUFFIXES or magic == b"\x89HDF\r\n\x1a\n":
            fmt = "hdf5"
        else:
            raise ConfigError(
                f"{source}: cannot tell its format from the name or the content; give --format npz or "
                "--format hdf5 (a folder of .npy files is given as the folder)"
            )
    if fmt == "npy":
        raise ConfigError(f"--format npy: {source} is a file; give the folder that holds the .npy files")
    return _NpzSource(source) if fmt == "npz" else _Hdf5Source(source)


def _check_headers(videos: list[SourceVideo]) -> None:
    """Duplicate keys, dtypes, shapes, empty arrays and one D for all: one line naming key and file."""
    seen: dict[str, SourceVideo] = {}
    first: SourceVideo | None = None
    for v in videos:
        if not v.key.strip():
            raise DataError(f"{v.name}: empty key; every video needs a name")
        if v.key in seen:
            raise DataError(f"duplicate key {v.key!r}: in {seen[v.key].name} and in {v.name}")
        seen[v.key] = v
        if v.dtype.kind not in "iuf":
            raise DataError(f"{v.name}: key {v.key!r} has dtype {v.dtype}, not a real number type (int or float)")
        if len(v.shape) not in (1, 2):
            raise DataError(f"{v.name}: key {v.key!r} has shape {v.shape}; a video is (T, D) or (D,)")
        if 0 in v.shape or v.length == 0:
            raise DataError(f"{v.name}: key {v.key!r} is empty (shape {v.shape})")
        if first is None:
            first = v
        elif v.dim != first.dim:
            raise DataError(
                f"{v.name}: key {v.key!r} has D={v.dim}, but {first.name} (key {first.key!r}) has "
                f"D={first.dim}; every video needs the same feature dimension"
            )


# ---------------------------------------------------------------------------------------------- labels
def _bare(key: str) -> str:
    """``key`` without a video or feature file suffix (``Walk/v_x.avi`` -> ``Walk/v_x``)."""
    path = PurePosixPath(key)
    return str(path.with_suffix("")) if path.suffix.lower() in _FILE_SUFFIXES else key


@dataclass
class _Labels:
    """Label (and subset) per labels entry, where they came from, and which entry names which video."""

    by_key: dict[str, str]
    subsets: dict[str, str]
    origin: str  # for messages and the result: the file, "from-folder" or "ucf101 DIR"
    adapter: bool = False  # a data set adapter lists the whole data set; a part of it in the source is normal
    entry_of: dict[str, str] = field(default_factory=dict)  # video key -> the entry naming it (see `match`)

    def match(self, videos: list[SourceVideo]) -> list[SourceVideo]:
        """Find each video's entry: its key, else its last path part (a video name, as data sets list them),
        each as it is, then without a video or feature file suffix, compared with the entries as written and
        without such a suffix (``v_x.avi``, ``Walk/v_x.npy``). Returns the videos no entry names; an entry
        naming two videos is a :class:`DataError`."""
        index = {_bare(entry): entry for entry in self.by_key}
        index.update({entry: entry for entry in self.by_key})  # as written wins over a stripped suffix
        missing: list[SourceVideo] = []
        named_by: dict[str, SourceVideo] = {}
        for v in videos:
            name = PurePosixPath(v.key).name
            entry = next((index[k] for k in (v.key, name, _bare(v.key), _bare(name)) if k in index), None)
            if entry is None:
                missing.append(v)
                continue
            if entry in named_by:
                other = named_by[entry]
                raise DataError(
                    f"{self.origin}: key {entry!r} names two videos, {other.key!r} ({other.name}) and "
                    f"{v.key!r} ({v.name}); give each its full key (path relative to the source)"
                )
            named_by[entry] = v
            self.entry_of[v.key] = entry
        return missing

    def label(self, key: str) -> str | None:
        entry = self.entry_of.get(key)
        return None if entry is None else self.by_key[entry]

    def subset(self, key: str) -> str:
        entry = self.entry_of.get(key)
        return "" if entry is None else self.subsets.get(entry, "")


def read_label_file(path: str | Path) -> dict[str, str]:
    """Labels from a CSV ``key,label`` (``.csv``, optional header) or a text file of ``key label`` lines.

    A header row is recognised by its cells (``key``/``video``/``id``... then ``label``/``class``...). In a text
    file the label is the rest of the line after the first run of blanks; ``#`` lines are comments. A key
    given twice is a :class:`DataError` naming both lines.
    """
    from action2vec.io import read_text

    path = Path(path)
    text = read_text(path, "labels file")
    rows: list[tuple[int, list[str]]] = []
    if path.suffix.lower() == ".csv":
        rows = [
            (n, [c.strip() for c in r])
            for n, r in enumerate(csv.reader(text.splitlines()), start=1)
            if any(c.strip() for c in r)
        ]
    else:
        for n, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append((n, line.split(None, 1)))
    if (
        rows
        and len(rows[0][1]) >= 2
        and rows[0][1][0].lower() in _HEADER_KEYS
        and rows[0][1][1].lower() in _HEADER_LABELS
    ):
        rows = rows[1:]
    labels: dict[str, str] = {}
    line_of: dict[str, int] = {}
    for n, cells in rows:
        if len(cells) < 2 or not cells[0] or not cells[1].strip():
            raise DataError(f"{path}:{n}: expected 'key,label' (CSV) or 'key label', got {','.join(cells)!r}")
        key, label = cells[0], cells[1].strip()
        if key in labels:
            raise DataError(f"{path}:{n}: duplicate key {key!r} (first on line {line_of[key]})")
        labels[key], line_of[key] = label, n
    if not labels:
        raise DataError(f"{path}: the labels file holds no 'key label' rows")
    return labels


def _resolve_labels(
    labels: str | Path | None, dataset: str | None, annotations: str | Path | None, split: int | None, keys: list[str]
) -> _Labels | None:
    if split is not None and dataset is None:
        raise ConfigError(
            "store import: --split chooses the official split of a --dataset; give --dataset and --annotations with it"
        )
    if dataset is not None or annotations is not None:
        if labels is not None:
            raise ConfigError("store import: give --labels or --dataset with --annotations, not both")
        if not dataset or not annotations:
            raise ConfigError(
                "store import: --dataset and --annotations go together (e.g. --dataset ucf101 "
                "--annotations ucfTrainTestlist)"
            )
        from action2vec.datasets import load_dataset

        records = load_dataset(dataset, Path(annotations), split=1 if split is None else split)
        return _Labels(
            {r.key: r.label for r in records},
            {r.key: r.subset for r in records},
            f"{dataset} {annotations}",
            adapter=True,
        )
    if labels is None:
        return None
    if str(labels) == FROM_FOLDER:
        by_key = {k: PurePosixPath(k).parent.name for k in keys if PurePosixPath(k).parent.name}
        return _Labels(by_key, {}, FROM_FOLDER)
    return _Labels(read_label_file(labels), {}, str(labels))


def _check_labels(labels: _Labels, videos: list[SourceVideo]) -> int:
    """Refuse keys without a label (count and first five, and a key of the labels no video matched); warn
    about labels for keys not in the source. Returns the number of such unmatched label entries."""
    missing = labels.match(videos)
    used = set(labels.entry_of.values())
    unmatched = [k for k in labels.by_key if k not in used]
    if missing:
        first = ", ".join(f"{v.key!r} ({v.name})" for v in missing[:5])
        beside = f"; its keys not matched look like {unmatched[0]!r}" if unmatched else ""
        raise DataError(f"{labels.origin}: {len(missing)} of {len(videos)} keys have no label, first: {first}{beside}")
    if unmatched and not labels.adapter:
        log.warning(
            "%s: %d labelled keys are not in the source (first: %s)",
            labels.origin,
            len(unmatched),
            ", ".join(map(repr, unmatched[:5])),
        )
    return len(unmatched)


# ---------------------------------------------------------------------------------------------- writing
def _store_meta(source: _Source, dim: int, meta: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata `extract` records (None where unknown), the source, then the user's ``meta``."""
    out: dict[str, Any] = {k: None for k in _EXTRACT_META}
    out.update(
        random_weights=False,
        amp=False,
        dim=dim,
        imported_from=os.path.abspath(source.path),
        import_format=source.format,
    )
    for k, v in (meta or {}).items():
        if k in ("dim", "imported_from", "import_format"):
            raise ConfigError(f"--meta {k}: is set by the import itself and cannot be given")
        out[k] = v
    return out


def _existing_store(out: Path) -> FeatureStore | None:
    """The store an earlier import left (merging its parts first), or None."""
    if parts_dir(out).is_dir() and any(parts_dir(out).glob("*.h5")):
        merge_parts(out)
    return FeatureStore(out) if out.is_file() else None


def _check_resume(
    out: Path, store: FeatureStore, meta: dict[str, Any], table: _Labels | None, videos: list[SourceVideo]
) -> None:
    """A store already at ``out`` is resumed only by the same import: same source, ``D``, metadata, and the
    label this run would give each video it already holds (a rerun with a corrected labels file would
    otherwise report the new labels while the store keeps the old ones)."""
    again = "; rerun the first import's command to resume, or use another --out"
    if store.meta.get("imported_from") != meta["imported_from"]:
        origin = store.meta.get("imported_from") or "`extract` (videos)"
        raise DataError(
            f"{out}: holds features from {origin}, this import reads {meta['imported_from']}; use another --out"
        )
    if store.dim and store.dim != meta["dim"]:
        raise DataError(f"{out}: holds D={store.dim} features, the source has D={meta['dim']}; use another --out")
    wanted = json.loads(json.dumps(meta, default=str))  # as the store's JSON metadata holds them
    for k, value in wanted.items():
        if store.meta.get(k) != value:
            raise DataError(f"{out}: was imported with {k}={store.meta.get(k)!r}, this run gives {k}={value!r}{again}")
    in_source = {v.key for v in videos}
    given = table.origin if table is not None else "this run (no labels)"
    for i, (key, stored) in enumerate(zip(store.keys, store.labels)):
        if key not in in_source:
            continue
        now = (table.label(key) or "") if table is not None else ""
        if (stored or "") != now:
            raise DataError(f"{out}: key {key!r} is stored with label {stored!r}, {given} gives {now!r}{again}")
        stored_subset, subset = store.source(i).get("subset", ""), table.subset(key) if table is not None else ""
        if stored_subset != subset:
            raise DataError(
                f"{out}: key {key!r} is stored in subset {stored_subset!r}, {given} puts it in {subset!r}{again}"
            )


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) where they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _as_features(arr: np.ndarray, video: SourceVideo) -> np.ndarray:
    """(T, D) float32 of one video, refused in one line when a value is not finite as float32."""
    arr = np.asarray(arr)
    if arr.ndim == 1:
        arr = arr[None, :]
    feats = arr.astype(np.float32, copy=False)
    if feats.shape != (video.length, video.dim):
        raise DataError(f"{video.name}: key {video.key!r} read as shape {arr.shape}, its header said {video.shape}")
    if not np.isfinite(feats).all():
        bad = np.argwhere(~np.isfinite(feats))[0]
        raise DataError(
            f"{video.name}: key {video.key!r} holds a non-finite value (NaN or inf as float32) at step "
            f"{bad[0]}, dim {bad[1]}"
        )
    return feats


def _batches(
    source: _Source, todo: list[SourceVideo], batch_bytes: int
) -> Iterator[list[tuple[SourceVideo, np.ndarray]]]:
    """Checked videos in groups of about ``batch_bytes`` of float32."""
    batch: list[tuple[SourceVideo, np.ndarray]] = []
    size = 0
    for v in todo:
        feats = _as_features(source.read(v), v)
        batch.append((v, feats))
        size += feats.nbytes
        if size >= batch_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def import_features(
    source: str | Path,
    out: str | Path,
    *,
    fmt: str | None = None,
    labels: str | Path | None = None,
    dataset: str | None = None,
    annotations: str | Path | None = None,
    split: int | None = None,
    meta: dict[str, Any] | None = None,
    batch_bytes: int = 64 << 20,
) -> ImportResult:
    """Write the per-video arrays of ``source`` to the feature store ``out`` (created, or resumed).

    ``fmt``: "npy" (a folder), "npz" or "hdf5"; None guesses from the path. ``labels``: a labels file (see
    :func:`read_label_file`), ``"from-folder"`` (the key's parent folder), or None; or ``dataset`` with
    ``annotations`` (a data set adapter, e.g. ``ucf101``: keys, or their last path part, are its video names;
    the train/test subset of its official split ``split``, 1 when None, is recorded per video). ``meta``:
    recorded in the store's metadata (backbone, layer, fps...). Every check raises
    :class:`DataError`/:class:`ConfigError` before the store is touched, except a non-finite value, which is
    found while reading: the part files this run wrote, and the folders it made for ``out``, are then removed.
    A store already at ``out`` is resumed only by the same import (source, metadata, labels and subsets).
    """
    t0 = time.perf_counter()
    source, out = Path(source), Path(out)
    if out.is_dir():
        raise DataError(f"--out {out}: is a directory; name the feature store file to write (e.g. {out}.h5)")
    if out.exists() and source.exists() and out.resolve() == source.resolve():
        raise DataError(f"--out {out}: is the source itself; write the store to another file")
    src = _open_source(source, fmt)
    try:
        videos = src.videos()
        _check_headers(videos)
        table = _resolve_labels(labels, dataset, annotations, split, [v.key for v in videos])
        unmatched = _check_labels(table, videos) if table is not None else 0
        store_meta = _store_meta(src, videos[0].dim, meta)
        created = [d for d in Path(os.path.abspath(out)).parents if not d.exists()]
        try:
            with StoreLock(out):
                existing = _existing_store(out)
                if existing is not None:
                    _check_resume(out, existing, store_meta, table, videos)
                done = set(existing.keys) if existing is not None else set()
                todo = [v for v in videos if v.key not in done]
                if todo:
                    _write(src, out, todo, table, store_meta, batch_bytes)
                    merge_parts(out)
        except DataError:
            _remove_empty(created)  # the lock made them; a refused import leaves no trace
            raise
    finally:
        src.close()
    store = FeatureStore(out)
    lengths = [v.length for v in videos]
    result = ImportResult(
        store=str(out),
        source=str(source),
        format=src.format,
        videos=len(store),
        imported=len(todo),
        skipped=len(videos) - len(todo),
        dim=store.dim,
        steps_min=min(lengths),
        steps_max=max(lengths),
        labelled=sum(1 for lab in store.labels if lab),
        classes=len(store.classes),
        seconds=round(time.perf_counter() - t0, 3),
        label_source=table.origin if table else "",
        unmatched_labels=unmatched,
        meta=store.meta,
    )
    log.debug("%s", result.summary())
    return result


def _write(
    src: _Source, out: Path, todo: list[SourceVideo], table: _Labels | None, meta: dict[str, Any], batch_bytes: int
) -> None:
    """Write ``todo`` through a StoreWriter, one part file per checked batch; a bad video removes this run's
    parts (finished batches of an interrupted run, Ctrl-C included, are kept for the resume)."""
    writer = StoreWriter(out, meta=meta, flush_every=1 << 30, merge=False)
    written: list[Path] = []
    count = 0
    try:
        for batch in _batches(src, todo, batch_bytes):
            for v, feats in batch:
                # not "path": that is the video file (the explorer decodes it for previews); this is the features'
                source = {"feature_file": os.path.abspath(v.file), "entry": v.where, "length": v.length}
                if table is not None and table.subset(v.key):
                    source["subset"] = table.subset(v.key)
                label = (table.label(v.key) or "") if table is not None else ""
                writer.add(v.key, feats, length=v.length, label=label, source=source)
            part = writer.flush()
            if part is not None:
                written.append(part)
            count += len(batch)
            del batch  # the next batch is read while this one would otherwise stay referenced
            log.info("imported %d of %d videos", count, len(todo))
    except DataError:
        for part in written:
            part.unlink(missing_ok=True)
        raise
    finally:
        writer.close()  # merge=False: flushes nothing (the buffer is empty between batches), gives the lock up
