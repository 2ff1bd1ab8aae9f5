"""benchmarks/bench_extract.py runs end to end at toy size and writes the figures the docs quote."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_bench_extract_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # importable by name: its pool pickles functions by name
    bench = importlib.import_module("bench_extract")
    out = tmp_path / "r.json"
    assert bench.main(["--synthetic", "2", "--workers", "1", "--rounds", "2", "--backbone", "c3d-tiny",
                       "--batch-size", "4", "--duration", "1", "--model-knobs", "fp32,bf16+cl", "--model-batches", "1",
                       "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["videos"] == 2 and r["workers"] == 1 and len(r["rounds"]) == 2
    for key in ("decode_over_raw_pyav", "decode_over_raw_pyav_cpu", "extract_over_raw_pyav", "extract_over_decode"):
        assert r[key] > 0
    for one in r["rounds"]:
        assert one["raw_pyav"]["frames_per_s"] / one["raw_pyav"]["videos_per_s"] == pytest.approx(300)  # all frames
        assert one["decode_only"]["frames_per_s"] / one["decode_only"]["videos_per_s"] == pytest.approx(30)  # 1 s
    assert set(r["model_only"]) == {"fp32", "bf16+cl"} and r["extract"]["clips"] == 2 * 3  # 30 frames, stride 8: 3 steps
    assert set(r["extract"]["timings_s"]) == {"wait_decode", "transfer", "preprocess", "forward", "write"}
