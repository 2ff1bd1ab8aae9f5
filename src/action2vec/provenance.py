"""What an artefact was made from, and the one decision whether an artefact on disk may be used again.

Every derived artefact (a training run, a zero-shot result, a split's PCA cache, a search index, a demo stage)
records a :class:`Provenance` of its inputs beside itself:

* ``inputs``: content digests of the files and stores it read (:class:`Input`: the digest and where it lay),
* ``settings``: the (flattened) settings that change what it computes,
* ``execution``: the settings that change only how it computes (workers, devices, progress bars, ...), kept for
  the record and never compared; which settings these are is declared where the setting is declared
  (``option(..., execution=True)``, listed by :func:`action2vec.config.execution_keys`), never in a hand-kept list,
* ``sketches``: small numeric summaries compared within a tolerance (label vectors, which a sentence encoder
  moves by ~1e-7 with what else is in its batch).

:func:`decide` compares the record on disk with the current one and says what to do — reuse (a finished
artefact), resume (an interrupted one), rebuild or refuse — with a one-line reason naming the first input that
differs, which callers put into their messages verbatim::

    record = Provenance("index", inputs={"store": Input(store_digest(store), str(store.path))}, settings={...})
    decision = decide(read_provenance(folder / "provenance.json"), record, on_change="rebuild")
    if decision.action == "rebuild":
        log.info("rebuilding %s: %s", folder, decision.reason)
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np

from action2vec.config import execution_keys, to_dict
from action2vec.errors import DataError
from action2vec.io import cache_dir, hash_file, json_safe, read_json, write_json

__all__ = [
    "Input",
    "Provenance",
    "Decision",
    "decide",
    "difference",
    "split_settings",
    "read_provenance",
    "write_provenance",
    "keys_digest",
    "sketch",
    "file_digest",
    "folder_digest",
    "file_state",
    "remember",
    "remembered",
    "PROVENANCE_FILE",
]

PROVENANCE_FILE = "provenance.json"
_VERSION = 1
_SKETCH_ATOL = 1e-4  # float noise of a re-embedded text is ~1e-7; another text for a class moves it by ~0.1

Action = Literal["reuse", "resume", "rebuild", "refuse"]


@dataclass(frozen=True)
class Input:
    """One input by its content: a digest, and where it lay (a path, for the messages; never compared)."""

    digest: str
    where: str = ""

    def to_json(self) -> dict[str, str]:
        return {"digest": self.digest, "where": self.where}


@dataclass(frozen=True)
class Provenance:
    """The record of what made one artefact (its JSON form is :meth:`to_json`, one file or one field)."""

    kind: str  # "train run", "zsl result", "pca cache", "index", ...
    inputs: Mapping[str, Input] = field(default_factory=dict)  # name -> content digest, in the order they are told
    settings: Mapping[str, Any] = field(default_factory=dict)  # dotted key -> value: change what it computes
    execution: Mapping[str, Any] = field(default_factory=dict)  # dotted key -> value: change only how it computes
    sketches: Mapping[str, Any] = field(default_factory=dict)  # name -> nested list of floats, compared within 1e-4

    def to_json(self) -> dict[str, Any]:
        return json.loads(
            json.dumps(
                json_safe(
                    {
                        "format": "action2vec-provenance",
                        "version": _VERSION,
                        "kind": self.kind,
                        "inputs": {k: v.to_json() for k, v in self.inputs.items()},
                        "settings": dict(self.settings),
                        "execution": dict(self.execution),
                        "sketches": dict(self.sketches),
                    }
                ),
                default=str,
            )
        )

    @classmethod
    def from_json(cls, doc: Any, source: str = "provenance record") -> "Provenance":
        if not isinstance(doc, dict) or doc.get("format") != "action2vec-provenance":
            raise DataError(f"{source}: not a provenance record")
        try:
            inputs = {str(k): Input(str(v["digest"]), str(v.get("where", ""))) for k, v in doc["inputs"].items()}
            return cls(
                str(doc["kind"]),
                inputs,
                dict(doc.get("settings") or {}),
                dict(doc.get("execution") or {}),
                dict(doc.get("sketches") or {}),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"{source}: damaged provenance record ({exc!r})") from None

    def digest(self) -> str:
        """A short hash of what :func:`decide` compares exactly (inputs' digests and settings; not the sketches,
        not the execution settings): equal records have equal digests."""
        doc = {
            "kind": self.kind,
            "inputs": {k: v.digest for k, v in self.inputs.items()},
            "settings": self.to_json()["settings"],
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Decision:
    """What to do with an artefact on disk: ``reuse`` (finished, same inputs), ``resume`` (interrupted, same
    inputs), ``rebuild`` or ``refuse``; ``reason``: one line naming the first input that differs ("" when same)."""

    action: Action
    reason: str = ""

    @property
    def same(self) -> bool:
        return self.action in ("reuse", "resume")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def difference(recorded: Provenance, current: Provenance) -> str:
    """The first difference between two records as one line, or "" when :func:`decide` would call them the same.

    Inputs come first (in the current record's order), then settings (sorted), then sketches."""
    if recorded.kind != current.kind:
        return f"it records a {recorded.kind}, not a {current.kind}"
    for name in [*current.inputs, *(k for k in recorded.inputs if k not in current.inputs)]:
        old, new = recorded.inputs.get(name), current.inputs.get(name)
        if old is None or new is None or old.digest != new.digest:
            where = (new or old).where  # type: ignore[union-attr]
            there = old.digest[:12] if old else "none"
            now = new.digest[:12] if new else "none"
            return f"the {name} changed ({where + ': ' if where else ''}content {there} recorded, {now} now)"
    old_s, new_s = _compared_settings(recorded), _compared_settings(current)
    for key in sorted(set(old_s) | set(new_s)):
        if old_s.get(key) != new_s.get(key):
            return f"{key}={_short(old_s.get(key))} there, {_short(new_s.get(key))} now"
    for name in sorted(set(recorded.sketches) | set(current.sketches)):
        a, b = recorded.sketches.get(name), current.sketches.get(name)
        if a is None or b is None or np.shape(a) != np.shape(b) or not np.allclose(a, b, rtol=0, atol=_SKETCH_ATOL):
            return f"the {name} differ"
    return ""


def _compared_settings(record: Provenance) -> dict[str, Any]:
    """The settings of ``record`` as JSON values (tuples as lists, paths as text), as they are compared."""
    return dict(record.to_json()["settings"])


def decide(
    recorded: Provenance | None,
    current: Provenance,
    *,
    finished: bool = True,
    on_change: Literal["rebuild", "refuse"] = "refuse",
    unrecorded: Literal["rebuild", "refuse", "accept"] = "refuse",
) -> Decision:
    """Whether the artefact that ``recorded`` describes may be used for ``current``.

    Same inputs and settings: ``reuse`` when ``finished``, else ``resume``. A difference: ``on_change`` with the
    difference as reason. No record (an artefact written before records were kept): ``unrecorded`` (``accept``
    takes it as the same, as the code did before records existed)."""
    if recorded is None:
        if unrecorded == "accept":
            return Decision("reuse" if finished else "resume")
        return Decision(unrecorded, "it records no provenance (written by an older action2vec)")
    why = difference(recorded, current)
    if why:
        return Decision(on_change, why)
    return Decision("reuse" if finished else "resume")


def split_settings(cfg: Any, skip: frozenset[str] | set[str] = frozenset()) -> tuple[dict[str, Any], dict[str, Any]]:
    """A config dataclass as ``(settings, execution)``: its flattened dotted keys, the ones declared
    ``option(..., execution=True)`` apart; keys in ``skip`` (inputs that enter by their content) left out."""
    flagged = execution_keys(type(cfg))
    flat = _flatten(to_dict(cfg))
    settings = {k: v for k, v in flat.items() if k not in flagged and k not in skip}
    execution = {k: v for k, v in flat.items() if k in flagged}
    return settings, execution


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def keys_digest(keys: Any) -> str:
    """The digest of a set of video keys (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(str(k) for k in keys)).encode()).hexdigest()[:16]


def sketch(vectors: np.ndarray, size: int = 4) -> list[list[float]]:
    """Each row's ``size`` fixed random projections (N, size), rounded to 1e-6: another text for one class moves
    its row by about that vector's change, float noise by ~1e-7 (compared within 1e-4 by :func:`decide`)."""
    v = np.asarray(vectors, dtype=np.float64)
    cols = np.random.default_rng(0).standard_normal((v.shape[1], size)) / np.sqrt(v.shape[1])
    return np.round(v @ cols, 6).tolist()


def read_provenance(path: str | Path) -> Provenance | None:
    """The record in ``path``, or None when there is none (an artefact from before records were kept)."""
    path = Path(path)
    if not path.is_file():
        return None
    return Provenance.from_json(read_json(path, "provenance record"), str(path))


def write_provenance(record: Provenance, path: str | Path) -> Path:
    """Write ``record`` to ``path`` (atomically)."""
    out = write_json(record.to_json(), path)
    assert out is not None
    return out


_REMEMBERED: dict[tuple[str, str, tuple[int, ...]], str] = {}  # (what, path, file state) -> value, this process
# File times move by clock ticks (a few ms): a file written again within the tick of its last write keeps its state.
# A value is remembered only for a file last written longer ago than this; writers that record what they just wrote
# set the file's modification time back by it (``remember(..., settle=True)``), so a later write changes the state.
_RACY_NS = 1_000_000_000


def file_state(path: str | Path) -> tuple[int, ...] | None:
    """What changes whenever a file is written: its size, modification time (ns) and inode (None: no file)."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (int(st.st_size), int(st.st_mtime_ns), int(st.st_ino))


def _memo_file(what: str, path: Path) -> Path:
    return cache_dir("digests") / (hashlib.sha256(f"{what}\0{path}".encode()).hexdigest()[:24] + ".json")


def remember(
    path: str | Path, what: str, value: str, state: tuple[int, ...] | None = None, *, settle: bool = False
) -> None:
    """Remember ``value`` (a digest called ``what``) for the file ``path`` as it is now (or was at ``state``): in
    this process and in ``$ACTION2VEC_CACHE/digests`` (an unwritable cache only means computing it again).
    ``settle``: the caller has just written the file; its modification time is set back by a second first, so that
    a write within the same clock tick still changes its state."""
    path = Path(path).resolve()
    if settle:
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - _RACY_NS))
    state = state or file_state(path)
    if state is None or (not settle and time.time_ns() - state[1] <= _RACY_NS):
        return
    _REMEMBERED[(what, str(path), state)] = value
    try:
        write_json({"what": what, "path": str(path), "state": list(state), "value": value}, _memo_file(what, path))
    except OSError:
        pass


def remembered(path: str | Path, what: str, compute: Any) -> str:
    """The digest ``what`` of file ``path``, computed by ``compute()`` once per file state (see :func:`remember`);
    a value computed while the file changed is returned but not remembered."""
    path = Path(path).resolve()
    state = file_state(path)
    if state is not None:
        if (what, str(path), state) in _REMEMBERED:
            return _REMEMBERED[(what, str(path), state)]
        try:
            doc = json.loads(_memo_file(what, path).read_text())
            if isinstance(doc, dict) and doc.get("state") == list(state) and doc.get("path") == str(path):
                _REMEMBERED[(what, str(path), state)] = str(doc["value"])
                return str(doc["value"])
        except (OSError, ValueError, KeyError):
            pass
    value = compute()
    if state is not None and file_state(path) == state:
        remember(path, what, value, state)  # not when the file was written within the last second
    return value


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), hashed once per file state (size, modification time, inode; see
    :func:`remembered`), so a word-vector file of gigabytes is read once, not at every run. An edit, even one that
    keeps the size, changes the state and so is hashed again."""
    return remembered(path, "sha256", lambda: hash_file(path).hexdigest())


def folder_digest(folder: str | Path) -> str:
    """The digest of every file under ``folder`` (names and contents; hidden files left out)."""
    folder = Path(folder)
    h = hashlib.sha256()
    for file in sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ):
        h.update(str(file.relative_to(folder)).encode() + b"\0" + file_digest(file).encode())
    return h.hexdigest()
