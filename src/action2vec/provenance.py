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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np

from action2vec.config import execution_keys, to_dict
from action2vec.errors import DataError
from action2vec.io import hash_file, json_safe, read_json, write_json

__all__ = ["Input", "Provenance", "Decision", "decide", "difference", "split_settings", "read_provenance", "write_provenance",
           "keys_digest", "sketch", "file_digest", "folder_digest", "PROVENANCE_FILE"]

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
        return json.loads(json.dumps(json_safe({
            "format": "action2vec-provenance", "version": _VERSION, "kind": self.kind,
            "inputs": {k: v.to_json() for k, v in self.inputs.items()}, "settings": dict(self.settings),
            "execution": dict(self.execution), "sketches": dict(self.sketches),
        }), default=str))

    @classmethod
    def from_json(cls, doc: Any, source: str = "provenance record") -> "Provenance":
        if not isinstance(doc, dict) or doc.get("format") != "action2vec-provenance":
            raise DataError(f"{source}: not a provenance record")
        try:
            inputs = {str(k): Input(str(v["digest"]), str(v.get("where", ""))) for k, v in doc["inputs"].items()}
            return cls(str(doc["kind"]), inputs, dict(doc.get("settings") or {}), dict(doc.get("execution") or {}),
                       dict(doc.get("sketches") or {}))
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"{source}: damaged provenance record ({exc!r})") from None

    def digest(self) -> str:
        """A short hash of what :func:`decide` compares exactly (inputs' digests and settings; not the sketches,
        not the execution settings): equal records have equal digests."""
        doc = {"kind": self.kind, "inputs": {k: v.digest for k, v in self.inputs.items()},
               "settings": self.to_json()["settings"]}
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



_FILE_DIGESTS: dict[tuple[str, int, int, int], str] = {}  # (path, size, mtime_ns, inode) -> digest, this process


def file_digest(path: str | Path, memo_dir: str | Path | None = None) -> str:
    """The SHA-256 of a file's bytes (hex), hashed once per file state (size, modification time, inode): kept in
    this process and, with ``memo_dir``, in a small JSON file there (so a word-vector file of gigabytes is read
    once, not at every run). An edit, even one that keeps the size, changes the state and so is hashed again."""
    path = Path(path).resolve()
    st = path.stat()
    state = (str(path), int(st.st_size), int(st.st_mtime_ns), int(st.st_ino))
    if state in _FILE_DIGESTS:
        return _FILE_DIGESTS[state]
    memo = Path(memo_dir) / (hashlib.sha256(str(path).encode()).hexdigest()[:24] + ".json") if memo_dir else None
    digest = None
    if memo is not None and memo.is_file():
        try:
            doc = json.loads(memo.read_text())
            digest = doc["digest"] if doc.get("state") == list(state) else None
        except (OSError, ValueError, KeyError, AttributeError):
            digest = None
    if digest is None:
        digest = hash_file(path).hexdigest()
        if memo is not None:
            try:
                write_json({"state": list(state), "digest": digest}, memo)
            except OSError:
                pass  # an unwritable memo folder only means hashing again next time
    _FILE_DIGESTS[state] = digest
    return digest


def folder_digest(folder: str | Path, memo_dir: str | Path | None = None) -> str:
    """The digest of every file under ``folder`` (names and contents; hidden files left out)."""
    folder = Path(folder)
    h = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(folder).parts)):
        h.update(str(file.relative_to(folder)).encode() + b"\0" + file_digest(file, memo_dir).encode())
    return h.hexdigest()
