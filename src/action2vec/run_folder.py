"""A training run's folder as its readers see it (:func:`action2vec.training.fit` writes it; the report and
the tests read it):

    RUN_DIR/result.json                          :class:`TrainResult`: final metrics, the train/val video keys
    RUN_DIR/logs/csv/version_*/metrics.csv       the Lightning CSV logs, one per process that trained the run
    RUN_DIR/model/                               the model folder (:mod:`action2vec.model_folder`)

One reader of each for the training code, the tests and the report's training curves.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from action2vec.errors import DataError
from action2vec.io import read_json

__all__ = ["RESULT_FILE", "TrainResult", "read_train_result", "read_metrics_csv", "read_training_log", "metric_series"]

RESULT_FILE = "result.json"


@dataclass
class TrainResult:
    """What a training run produced; ``RUN_DIR/result.json`` is its JSON form (paths are the run folder's)."""

    run_dir: Path
    model_dir: Path
    classes: list[str]  # the training classes, rows of the classification head
    metrics: dict[str, float] = field(default_factory=dict)  # Lightning's final logged values
    train_keys: list[str] = field(default_factory=list)
    val_keys: list[str] = field(default_factory=list)
    global_step: int = 0
    transductive: dict[str, Any] | None = None  # the manifold term's settings and unlabelled videos, when used

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "classes": self.classes,
            "train_keys": self.train_keys,
            "val_keys": self.val_keys,
            "global_step": self.global_step,
            "transductive": self.transductive,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], run_dir: str | Path) -> "TrainResult":
        """The result of the run in ``run_dir`` from its result.json document."""
        if not isinstance(doc, dict) or "classes" not in doc:
            raise DataError(f"{run_dir}/{RESULT_FILE}: not a training result (no classes)")
        run_dir = Path(run_dir)
        return cls(
            run_dir,
            run_dir / "model",
            list(doc["classes"]),
            dict(doc.get("metrics", {})),
            list(doc.get("train_keys", [])),
            list(doc.get("val_keys", [])),
            int(doc.get("global_step", 0)),
            doc.get("transductive"),
        )


def read_train_result(run_dir: str | Path) -> TrainResult:
    """The result of the finished run in ``run_dir`` (DataError naming its result.json when absent or damaged)."""
    return TrainResult.from_json(read_json(Path(run_dir) / RESULT_FILE, "training result"), run_dir)


def read_metrics_csv(path: str | Path) -> list[dict[str, float]]:
    """Every row of one Lightning ``metrics.csv``, its numeric cells as floats (empty cells left out)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"training log not found: {path}")
    rows = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            values = {}
            for key, text in row.items():
                try:
                    values[key] = float(text)
                except (TypeError, ValueError):
                    continue  # an empty cell: the metric was not logged at this step
            rows.append(values)
    return rows


def read_training_log(run_dir: str | Path) -> list[dict[str, float]]:
    """The run's log from its CSV logs (one per process that trained it: a resumed run has several), in order:
    a resumed segment starts at its checkpoint's step, so it replaces the rows of earlier segments from that
    step on (logged by a process that was then stopped)."""
    base = Path(run_dir) / "logs" / "csv"
    versions = sorted(base.glob("version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[-1]))
    rows: list[dict[str, float]] = []
    for path in versions:
        segment = read_metrics_csv(path)
        start = min((r["step"] for r in segment if "step" in r), default=None)
        if start is not None:
            rows = [r for r in rows if r.get("step", -1.0) < start]
        rows += segment
    return rows


def metric_series(rows: list[dict[str, float]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{metric: (steps, values)} of log rows; a row's step is its ``step`` (else ``epoch``, else its position)."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for i, row in enumerate(rows):
        step = row.get("step", row.get("epoch", float(i)))
        for key, value in row.items():
            if key not in ("step", "epoch"):
                xs, ys = series.setdefault(key, ([], []))
                xs.append(step)
                ys.append(value)
    return {k: (np.array(xs), np.array(ys)) for k, (xs, ys) in series.items()}
