"""``action2vec demo`` end to end at a reduced size: files to report, headline numbers, resume."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from action2vec.cli.main import main
from action2vec.errors import ConfigError
from action2vec.experiments.demo import demo_config
from action2vec.variants import title

SMALL = [
    "--size",
    "quick",
    "--set",
    "toy.verbs=[slide, spin, grow, appear]",
    "--set",
    "toy.videos_per_class=3",
    "--set",
    "run.train.epochs=6",
]


@pytest.mark.slow
def test_demo_writes_the_report_and_reuses_finished_stages(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "demo"
    start = time.perf_counter()
    assert main(["demo", "--out", str(out), *SMALL]) == 0
    first_seconds = time.perf_counter() - start
    printed = capsys.readouterr().out
    assert title("hrnn_attention") in printed and f"report: {out / 'report.html'}" in printed

    for name in ("report.html", "report.md", "report.json", "features.h5", "toy/videos.txt", "demo_config.yaml"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    zsl = report["zsl"]
    n_classes = 4 * 3
    n_unseen = round(n_classes / 2)
    assert zsl["chance"] == pytest.approx(1 / n_unseen)
    for row in ("hrnn_attention", "pooled_krr"):
        assert 0.0 <= zsl[row]["top1"] <= zsl[row]["top5"] <= 1.0
    # Every ordered pair of different nouns under one verb is an analogy test: 4 verbs x 3 x 2.
    assert report["analogy"]["count"] == 4 * 3 * 2 and 0.0 <= report["analogy"]["accuracy"] <= 1.0
    assert math.isfinite(report["wordnet"]["spearman"])
    assert report["demo"]["videos"] == n_classes * 3

    html = (out / "report.html").read_text()
    assert html.count("<table") >= 3 and "data:image/png;base64," in html
    for figure in ("tsne_action2vec", "training_curves", "wordnet_heatmaps", "confusion_toy_hrnn_attention"):
        assert (out / "figures" / f"{figure}.png").is_file(), figure
    # captions say what a figure shows (no longer its file name)
    assert "Training curves of the run in full" in html and "t-SNE of Action2Vec&#39;s class means" in html

    # A rerun trains nothing again and reports the same numbers.
    start = time.perf_counter()
    assert main(["demo", "--out", str(out), *SMALL]) == 0
    assert time.perf_counter() - start < first_seconds
    again = json.loads((out / "report.json").read_text())
    assert again["zsl"]["hrnn_attention"] == zsl["hrnn_attention"] and again["analogy"] == report["analogy"]


def test_demo_config_presets_and_a_changed_configuration(tmp_path: Path) -> None:
    full, quick = demo_config("full"), demo_config("quick")
    assert len(full.toy.verbs) >= 8 and len(full.toy.nouns) >= 5 and full.splits >= 1
    assert len(quick.toy.verbs) * len(quick.toy.nouns) < len(full.toy.verbs) * len(full.toy.nouns)
    assert full.run.model.variant == "hrnn_attention"
    with pytest.raises(ConfigError, match="quick"):
        demo_config("huge")


def test_demo_refuses_to_mix_two_configurations(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from action2vec.datasets.toy import ToyConfig, generate_toy_dataset

    out = tmp_path / "demo"
    generate_toy_dataset(out / "toy", ToyConfig(classes=["spin ball"], videos_per_class=1))
    assert main(["demo", "--out", str(out), "--size", "quick"]) == 2
    assert "another configuration" in capsys.readouterr().err


def test_demo_settings_out_of_range_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for argv, needle in (
        (["--set", "splits=0"], "'splits': 0"),
        (["--set", "krr.gamma_i=-1"], "'krr.gamma_i': -1.0"),
        (["--set", "threads=-2"], "'threads': -2"),
    ):
        assert main(["demo", "--out", str(tmp_path / "d"), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0] and "out of range" in err[0], err
    assert not (tmp_path / "d").exists()


TINY = [
    "--size",
    "quick",
    "--set",
    "toy.verbs=[slide, spin]",
    "--set",
    "toy.nouns=[ball, box]",
    "--set",
    "toy.videos_per_class=1",
]


def test_demo_prompts_reach_the_label_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run.data.prompts is not dropped: the demo's label vectors (which every model records) are prompted."""
    from action2vec.experiments import demo

    seen = {}

    def stop(classes, text, **kw):
        seen.update(kw)
        raise RuntimeError("stop after the label vectors")

    monkeypatch.setattr(demo, "build_label_vectors", stop)
    with pytest.raises(RuntimeError, match="stop after"):
        main(["demo", "--out", str(tmp_path / "d"), *TINY, "--set", "run.data.prompts=['a video of a person {}']"])
    assert list(seen["prompts"]) == ["a video of a person {}"]


def test_demo_model_settings_are_checked_before_any_stage(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "d"
    assert main(["demo", "--out", str(out), *TINY, "--set", "run.model.window_stride=10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run.model.window_stride" in err[0], err
    assert not (out / "toy").exists()
