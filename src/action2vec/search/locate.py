"""Find the model, the store and the index of a run folder.

Two kinds of run folder are understood:

- the demo's output (``action2vec demo --out RUN``): ``RUN/full/model/`` (the model trained on every
  class) and ``RUN/features.h5``;
- a ``train`` run: ``RUN/model/`` and ``RUN/config.yaml``, whose ``data.store`` names the store
  (read as written, else relative to the run folder).

Either way the index lives in ``RUN/index/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from action2vec.errors import DataError
from action2vec.model_folder import CONFIG_FILE, WEIGHTS_FILE

__all__ = ["RunPaths", "locate_run", "locate_model", "locate_index", "INDEX_DIR"]

INDEX_DIR = "index"


@dataclass(frozen=True)
class RunPaths:
    """The model folder, the feature store and the index folder of a run."""

    model_dir: Path
    store: Path
    index_dir: Path


def _is_model(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def _train_store(run_dir: Path) -> Path:
    cfg_file = run_dir / "config.yaml"
    if not cfg_file.is_file():
        raise DataError(f"{run_dir}: has a model/ but no config.yaml naming its store; give --store")
    try:
        cfg = yaml.safe_load(cfg_file.read_text()) or {}
    except (yaml.YAMLError, OSError) as exc:
        raise DataError(f"{cfg_file}: not readable YAML ({exc})") from None
    store = str(((cfg.get("data") or {}) if isinstance(cfg, dict) else {}).get("store") or "")
    if not store:
        raise DataError(f"{cfg_file}: data.store is empty; give --store")
    for candidate in (Path(store), run_dir / store):
        if candidate.is_file():
            return candidate
    raise DataError(f"{cfg_file}: data.store {store} not found (nor relative to {run_dir}); give --store")


def locate_model(run_dir: str | Path) -> Path | None:
    """The model folder of a demo (``full/model``) or ``train`` (``model``) run folder, or None."""
    run_dir = Path(run_dir)
    if _is_model(run_dir / "full" / "model") and (run_dir / "features.h5").is_file():
        return run_dir / "full" / "model"
    if _is_model(run_dir / "model"):
        return run_dir / "model"
    return None


def locate_run(run_dir: str | Path) -> RunPaths:
    """The model, store and index folder of a demo or ``train`` run folder; DataError when it is neither."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: run folder not found")
    model_dir = locate_model(run_dir)
    if model_dir == run_dir / "full" / "model":
        return RunPaths(model_dir, run_dir / "features.h5", run_dir / INDEX_DIR)
    if model_dir is not None:
        return RunPaths(model_dir, _train_store(run_dir), run_dir / INDEX_DIR)
    raise DataError(
        f"{run_dir}: not a run folder (expected model/ and config.yaml of `action2vec train`, or "
        f"full/model/ and features.h5 of `action2vec demo`)"
    )


def locate_index(path: str | Path) -> Path:
    """The index folder named by ``path``: an index folder itself, or a run folder holding ``index/``."""
    path = Path(path)
    if (path / "index.json").is_file():
        return path
    if (path / INDEX_DIR / "index.json").is_file():
        return path / INDEX_DIR
    if not path.exists():
        raise DataError(f"{path}: not found")
    raise DataError(f"{path}: no search index here; build one with `action2vec index {path}`")
