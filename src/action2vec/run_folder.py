"""Reading a run's Lightning CSV logs (``RUN_DIR/logs/csv/version_*/metrics.csv``): one reader for the
training code, the tests and the report's training curves."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from action2vec.errors import DataError

__all__ = ["read_metrics_csv", "read_training_log", "metric_series"]


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
