"""Pictures (PNG + SVG), word2vec export loadable by gensim, the paper-layout table and the report."""

import base64
import json

import numpy as np
import pytest

from action2vec.errors import DataError
from action2vec.evaluation.results import AnalogyExample, MeanStd, ZslSummary
from action2vec.reports.export import read_word2vec, write_word2vec
from action2vec.reports.plots import (
    plot_analogy_examples,
    plot_class_map,
    plot_confusion,
    plot_similarity_heatmaps,
    plot_training_curves,
    save_figure,
)
from action2vec.reports.report import build_report, write_json
from action2vec.reports.tables import fmt_mean_std, zsl_table_markdown
from action2vec.run_folder import metric_series, read_metrics_csv


def test_word2vec_export_loads_in_gensim(tmp_path):
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(0)
    names = ["play violin", "play cello", "throw ball"]
    vecs = rng.standard_normal((3, 7)).astype(np.float32)
    path = write_word2vec(tmp_path / "classes.txt", names, vecs)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert kv.index_to_key == ["play_violin", "play_cello", "throw_ball"]
    assert np.allclose(kv["throw_ball"], vecs[2], atol=1e-5)
    keys, back = read_word2vec(path)
    assert keys == kv.index_to_key and np.allclose(back, vecs, atol=1e-5)
    with pytest.raises(DataError, match="same key"):
        write_word2vec(tmp_path / "dup.txt", ["a b", "a_b"], vecs[:2])


def test_figures_png_and_svg(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"class {i}" for i in range(12)]
    vecs = rng.standard_normal((12, 8))
    written = []
    written += save_figure(plot_class_map(vecs, names, groups=["a", "b", "c"] * 4), tmp_path / "tsne")
    sim = vecs @ vecs.T
    written += save_figure(
        plot_similarity_heatmaps(np.abs(sim) / np.abs(sim).max(), {"text": sim}, names), tmp_path / "heat"
    )
    written += save_figure(plot_confusion(rng.integers(0, 5, (12, 12)), names), tmp_path / "conf")
    ex = [
        AnalogyExample(
            query="play piano",
            minus="piano",
            plus="violin",
            nearest="play violin",
            expected="play violin",
            correct=True,
        )
    ]
    written += save_figure(plot_analogy_examples(ex), tmp_path / "analogy")
    for p in written:
        assert p.stat().st_size > 1000
        head = p.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if p.suffix == ".png" else b"<svg" in p.read_bytes()[:2000]
    assert {p.suffix for p in written} == {".png", ".svg"}


def _metrics_csv(path):
    lines = ["epoch,step,train/loss_step,val/top1,train/loss_epoch"]
    for s in range(10):
        lines.append(f"0,{s},{1.0 / (s + 1)},,")
    lines.append("0,9,,0.4,0.5")
    lines.append("1,19,,0.6,0.3")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_training_curves_from_lightning_csv(tmp_path):
    csv = _metrics_csv(tmp_path / "metrics.csv")
    series = metric_series(read_metrics_csv(csv))
    assert np.allclose(series["val/top1"][1], [0.4, 0.6]) and len(series["train/loss_step"][0]) == 10
    paths = save_figure(plot_training_curves(read_metrics_csv(csv), str(csv)), tmp_path / "curves")
    assert all(p.exists() for p in paths)
    with pytest.raises(DataError, match="not found"):
        read_metrics_csv(tmp_path / "nope.csv")


def test_a_resumed_runs_log_is_its_segments_with_the_crashed_steps_replaced(tmp_path, monkeypatch):
    """A resumed run has one CSV log per process (version_0 crashed at step 6, version_1 resumed from the
    step-4 checkpoint): the run's log is every step once, the resumed segment's where both have it, and the
    report draws that whole log, not the crashed part."""
    from action2vec.reports.report import build_report
    from action2vec.training import read_training_log

    logs = tmp_path / "logs" / "csv"
    for version, steps in ((0, range(0, 7)), (1, range(4, 12))):
        (logs / f"version_{version}").mkdir(parents=True)
        (logs / f"version_{version}" / "metrics.csv").write_text(
            "epoch,step,train/loss_step\n" + "".join(f"0,{s},{version + 1.0 / (s + 1)}\n" for s in steps)
        )
    rows = read_training_log(tmp_path)
    assert [r["step"] for r in rows] == list(range(12))
    assert [r["train/loss_step"] > 1 for r in rows] == [False] * 4 + [True] * 8  # steps 4..6 from the resumed run
    write_json(
        {"kind": "analogy", "count": 1, "accuracy": 1.0, "chance": 0.5, "metric": "euclidean"},
        tmp_path / "analogy.json",
    )
    import action2vec.reports.plots as plots

    seen, real = [], plots.plot_training_curves
    monkeypatch.setattr(
        plots, "plot_training_curves", lambda r, source: seen.append([x["step"] for x in r]) or real(r, source)
    )
    build_report(tmp_path)
    assert seen == [list(range(12))]


SUMMARY = {
    "kind": "zsl",
    "variants": ["hrnn_attention", "pooled_krr"],
    "n_splits": 2,
    "datasets": {
        "toy": {
            "results": {
                "hrnn_attention": {"50/50": {"top1": {"mean": 0.2348, "std": 0.01, "n": 2}}},
                "pooled_krr": {"50/50": {"top1": {"mean": 0.05, "std": 0.0, "n": 2}}},
            },
            "chance": {"50/50": 0.1},
        }
    },
}


def test_table_layout():
    md = zsl_table_markdown(ZslSummary.from_json(SUMMARY))
    lines = md.strip().splitlines()
    assert lines[0] == "| split / variant | toy |"
    assert "| **50/50** |  |" in md
    assert "| Action2Vec w/dual loss + attention | 23.48 ± 1.00 |" in md
    assert "| chance | 10.00 |" in md
    assert fmt_mean_std(MeanStd(float("nan"), 0.0, 1)) == "-"


def test_report_self_contained(tmp_path):
    write_json(SUMMARY, tmp_path / "zsl.json")
    write_json(
        {
            "kind": "analogy",
            "count": 4,
            "accuracy": 0.5,
            "chance": 0.1,
            "metric": "euclidean",
            "examples": [
                {"query": "a x", "minus": "x", "plus": "y", "nearest": "a y", "expected": "a y", "correct": True}
            ],
        },
        tmp_path / "analogy.json",
    )
    write_json({"kind": "wordnet", "n_classes": 5, "spearman": 0.3, "spearman_by": {"text": 0.3}}, tmp_path / "wn.json")
    (tmp_path / "logs").mkdir()
    _metrics_csv(tmp_path / "logs" / "metrics.csv")
    paths = build_report(tmp_path)
    page = paths["html"].read_text()
    assert "<table>" in page and "23.48 ± 1.00" in page
    assert "data:image/png;base64," in page and 'src="figures' not in page  # images embedded
    png = page.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(png)[:4] == b"\x89PNG"
    report = json.loads(paths["json"].read_text())
    assert report["analogy"]["count"] == 4 and report["wordnet"]["spearman"] == 0.3
    assert report["zsl"]["datasets"]["toy"]["results"]["hrnn_attention"]["50/50"]["top1"]["mean"] == 0.2348
    # headline figures (first data set, first ratio) as the demo's report.json reads them
    assert report["zsl"]["hrnn_attention"]["top1"] == 0.2348 and report["zsl"]["pooled_krr"]["top1"] == 0.05
    assert report["zsl"]["chance"] == 0.1
    assert "training_curves" in paths["md"].read_text()
    with pytest.raises(DataError, match="nothing to report"):
        build_report((tmp_path / "empty").mkdir() or tmp_path / "empty")


def test_chance_row_is_k_over_n_for_top_k():
    """The top-5 table's chance row is 5/n, not the top-1 1/n (30 unseen classes: 16.67, not 3.33)."""
    import copy

    new = copy.deepcopy(SUMMARY)
    new["datasets"]["toy"]["chance"] = {"50/50": {"top1": 1 / 30, "top5": 5 / 30, "mean_class_acc": 1 / 30}}
    new["datasets"]["toy"]["results"]["hrnn_attention"]["50/50"]["top5"] = {"mean": 0.9, "std": 0.0, "n": 2}
    assert "| chance | 16.67 |" in zsl_table_markdown(ZslSummary.from_json(new), "top5")
    assert "| chance | 3.33 |" in zsl_table_markdown(ZslSummary.from_json(new), "top1")
    # a summary written before per-metric chance levels: one 1/n per ratio, top-k read as k/n
    assert "| chance | 50.00 |" in zsl_table_markdown(ZslSummary.from_json(SUMMARY), "top5")


def test_top_k_of_a_split_with_fewer_than_k_classes_is_explained_under_the_table():
    import copy

    few = copy.deepcopy(SUMMARY)
    few["datasets"]["toy"]["chance"] = {"50/50": {"top1": 1 / 4, "top5": 1.0, "mean_class_acc": 1 / 4}}
    assert "-: fewer than 5 test classes" in zsl_table_markdown(ZslSummary.from_json(few), "top5")
    assert "fewer than" not in zsl_table_markdown(ZslSummary.from_json(few), "top1")
    # a missing top-5 with enough classes (10 here) is not explained away
    assert "fewer than" not in zsl_table_markdown(ZslSummary.from_json(SUMMARY), "top5")


def test_report_shows_both_analogy_readings_and_reads_older_files(tmp_path):
    score = {"subset": "", "normalize": True, "count": 4, "correct": 2}
    write_json(
        {
            "kind": "analogy",
            "count": 4,
            "correct": 2,
            "accuracy": 0.5,
            "chance": 0.25,
            "metric": "euclidean",
            "exclude_query": True,
            "normalize": True,
            "examples": [],
            "scores": [
                {**score, "vectors": "action2vec", "exclude_query": True, "accuracy": 0.5, "chance": 0.25},
                {**score, "vectors": "action2vec", "exclude_query": False, "accuracy": 0.25, "chance": 0.2},
            ],
        },
        tmp_path / "new" / "analogy.json",
    )
    md = build_report(tmp_path / "new")["md"].read_text()
    # one number format: accuracies and chance levels in % (the analogy table gave fractions before)
    assert "| action2vec | 4 | left out | 50.00 | 25.00 |" in md
    assert "| action2vec | 4 | a candidate (paper) | 25.00 | 20.00 |" in md
    # written before the switch: the query class was left out; the demo's comparisons become rows
    write_json(
        {
            "kind": "analogy",
            "count": 240,
            "correct": 240,
            "accuracy": 1.0,
            "chance": 0.0169,
            "metric": "euclidean",
            "class_vectors": "action2vec",
            "examples": [],
            "text_only": {"accuracy": 1.0, "correct": 240},
            "zero_shot_model": {
                "split": "50-50_seed0",
                "accuracy": 0.85,
                "unseen_count": 62,
                "unseen_accuracy": 0.7742,
            },
        },
        tmp_path / "old" / "analogy.json",
    )
    md = build_report(tmp_path / "old")["md"].read_text()
    assert "| text | 240 | left out | 100.00 | 1.69 |" in md
    assert "| action2vec, model of split 50-50_seed0 (between its unseen classes) | 62 | left out | 77.42 | - |" in md
