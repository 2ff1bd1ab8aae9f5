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
    assert (
        bench.main(
            [
                "--synthetic",
                "2",
                "--workers",
                "1",
                "--rounds",
                "2",
                "--backbone",
                "c3d-tiny",
                "--batch-size",
                "4",
                "--duration",
                "1",
                "--model-knobs",
                "fp32,bf16+cl",
                "--model-batches",
                "1",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    r = json.loads(out.read_text())
    assert r["videos"] == 2 and r["workers"] == 1 and len(r["rounds"]) == 2
    for key in ("decode_over_raw_pyav", "decode_over_raw_pyav_cpu", "extract_over_raw_pyav", "extract_over_decode"):
        assert r[key] > 0
    for one in r["rounds"]:
        assert one["raw_pyav"]["frames_per_s"] / one["raw_pyav"]["videos_per_s"] == pytest.approx(300)  # all frames
        assert one["decode_only"]["frames_per_s"] / one["decode_only"]["videos_per_s"] == pytest.approx(30)  # 1 s
    assert (
        set(r["model_only"]) == {"fp32", "bf16+cl"} and r["extract"]["clips"] == 2 * 3
    )  # 30 frames, stride 8: 3 steps
    assert set(r["extract"]["timings_s"]) == {"wait_decode", "transfer", "preprocess", "forward", "write"}


def test_gpu_check_table_prints_the_rows_it_has(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    table = importlib.import_module("gpu_check_table")
    first = {
        "decode_over_raw_pyav": 0.95,
        "decode_over_raw_pyav_cpu": 1.1,
        "decode_only": {"videos_per_s": 9.5, "frames_per_s": 2850.0},
        "raw_pyav": {"videos_per_s": 10.0, "frames_per_s": 3000.0},
        "model_only": {"fp32": {"clips_per_s": 1000.0}, "bf16": {"error": "RuntimeError: x"}},
    }
    second = {"model_only": {"bf16+compile": {"clips_per_s": 4100.0}}}
    (tmp_path / "a.json").write_text(json.dumps(first))
    (tmp_path / "b.json").write_text(json.dumps(second))
    lines = table.table(
        table.merged([str(tmp_path / "a.json"), str(tmp_path / "missing.json"), str(tmp_path / "b.json")])
    )
    text = "\n".join(lines)
    assert "decode-only / raw PyAV         : 0.950" in text and "extraction / raw" not in text  # no extraction part
    assert "failed: RuntimeError: x" in text and "best (bf16+compile)" in text and "4100 clips/s" in text
