"""The ``pooled_match`` row end to end: toy videos -> ``extract --backbone hf:TINY_CLIP`` -> ``zsl --data.text
hf:TINY_CLIP --variants pooled_match,hrnn_attention,pooled_krr``; its score recomputed here; refusals; and
``from action2vec import Action2Vec`` loading a train run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")

from hf_models import save_clip  # noqa: E402

from action2vec.cli.main import main  # noqa: E402
from action2vec.store import open_store  # noqa: E402

QUIET = ["--compute.workers", "0", "--compute.progress", "false"]
ZSL = [
    "--ratios",
    "50/50",
    "--seeds",
    "1",
    "--workers",
    "1",
    "--model.preset",
    "cpu",
    "--train.epochs",
    "1",
    "--train.progress_bar",
    "false",
]
VARIANTS = "pooled_match,hrnn_attention,pooled_krr"


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict[str, Path]:
    """Toy videos (3 verbs x 2 nouns x 3 videos), a tiny CLIP folder, its store and a motion store."""
    from action2vec.datasets.toy import ToyConfig, generate_toy_dataset

    root = tmp_path_factory.mktemp("pooled_match")
    data = generate_toy_dataset(
        root / "toy",
        ToyConfig(
            verbs=["spin", "grow", "slide"],
            nouns=["ball", "box"],
            videos_per_class=3,
            min_seconds=1.0,
            max_seconds=1.5,
            size=32,
        ),
    )
    clip = save_clip(root / "clip")
    # 3 steps of 4 frames (the 1.0 s videos have 2 true steps, then a zero row): the mean over true steps matters
    common = [
        "extract",
        "--list",
        str(data.list_path),
        "--video.fps",
        "8",
        "--video.duration",
        "1.5",
        "--video.clip_len",
        "4",
        "--video.stride",
        "4",
        *QUIET,
    ]
    assert main([*common, "--out", str(root / "clip.h5"), "--backbone", f"hf:{clip}"]) == 0
    assert main([*common, "--out", str(root / "motion.h5"), "--backbone", "motion"]) == 0
    return {"root": root, "clip": clip, "clip_store": root / "clip.h5", "motion_store": root / "motion.h5"}


@pytest.fixture(scope="module")
def zsl_run(toy, tmp_path_factory) -> tuple[Path, str]:
    import contextlib
    import io

    out = tmp_path_factory.mktemp("zsl") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(
            [
                "zsl",
                "--store",
                f"toy={toy['clip_store']}",
                "--data.text",
                f"hf:{toy['clip']}",
                "--variants",
                VARIANTS,
                "--out",
                str(out),
                *ZSL,
            ]
        )
    assert code == 0
    return out, printed.getvalue()


def test_three_rows_beside_each_other(zsl_run) -> None:
    out, printed = zsl_run
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "chance" not in line]
    titles = [r.split("|")[1].strip() for r in rows]
    assert "Pooled features, text match (no training)" in titles
    assert "Action2Vec w/dual loss + attention" in titles and "Pooled features + KRR (Laplacian)" in titles
    summary = json.loads((out / "zsl.json").read_text())
    assert {r["variant"] for r in summary["splits"]} == {"pooled_match", "hrnn_attention", "pooled_krr"}
    splits = {(r["split"], r["variant"]) for r in summary["splits"]}
    assert len({s for s, _ in splits}) == 1  # the same split for every row


def test_pooled_match_score_is_mean_step_feature_cosine_to_class_texts(toy, zsl_run) -> None:
    from action2vec.text import build_label_vectors

    out, _ = zsl_run
    (result_path,) = sorted((out / "runs" / "toy").glob("*/pooled_match/result.json"))
    result = json.loads(result_path.read_text())
    unseen = result["unseen_classes"]
    store = open_store(toy["clip_store"])
    text = build_label_vectors(unseen, f"hf:{toy['clip']}", cache=False).vectors  # (C, 16)
    text = text / np.linalg.norm(text, axis=1, keepdims=True)
    confusion = np.zeros((len(unseen), len(unseen)), dtype=int)  # true class x predicted class, counts
    for i, label in enumerate(store.labels):
        if label not in unseen:
            continue
        feats, length = store.get(i)
        video = feats[:length].mean(axis=0)  # the mean of the true steps, raw features
        scores = text @ (video / np.linalg.norm(video))
        confusion[unseen.index(label), int(np.argmax(scores))] += 1
    assert confusion.sum() == 9 and store.meta["steps"] == 3 and set(store.lengths) >= {2, 3}
    np.testing.assert_array_equal(np.array(result["confusion"]), confusion)  # every video's prediction

    # the features the row scores: each video's mean over its true steps (not the zero padding, not one step)
    from action2vec.experiments.pooled_match import match_embed

    positions = np.arange(len(store))  # every video: some have 2 true steps of 3
    naive = np.stack([store.get(int(i))[0][: store.get(int(i))[1]].mean(axis=0) for i in positions])
    np.testing.assert_allclose(match_embed(store, positions), naive, rtol=0, atol=1e-6)
    assert result["metrics"]["top1"] == pytest.approx(np.trace(confusion) / 9, abs=1e-9)
    assert result["n_train_videos"] >= 0 and result["features"].startswith("pooled hf:")


def test_other_backbone_or_other_text_model_refused_in_one_line(toy, tmp_path, capsys) -> None:
    capsys.readouterr()
    out = tmp_path / "motion_zsl"
    code = main(
        [
            "zsl",
            "--store",
            f"toy={toy['motion_store']}",
            "--data.text",
            f"hf:{toy['clip']}",
            "--variants",
            "pooled_match",
            "--out",
            str(out),
            *ZSL,
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "pooled_match" in err[0] and "not extracted by an hf:" in err[0]
    assert not out.exists()  # nothing written

    other = save_clip(tmp_path / "clip_other", seed=1)
    capsys.readouterr()  # transformers' save_pretrained may draw a progress bar on stderr
    out = tmp_path / "other_zsl"
    code = main(
        [
            "zsl",
            "--store",
            f"toy={toy['clip_store']}",
            "--data.text",
            f"hf:{other}",
            "--variants",
            "pooled_match",
            "--out",
            str(out),
            *ZSL,
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "is not the model" in err[0] and not out.exists()

    code = main(
        [
            "zsl",
            "--store",
            f"toy={toy['clip_store']}",
            "--data.text",
            "minilm",
            "--variants",
            "pooled_match",
            "--out",
            str(out),
            *ZSL,
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "text tower" in err[0] and not out.exists()


def test_top_level_action2vec_loads_a_train_run_folder(toy, zsl_run) -> None:
    from action2vec import Action2Vec
    from action2vec.text import create_embedder

    out, _ = zsl_run
    (train,) = sorted((out / "runs" / "toy").glob("*/hrnn_attention/train"))
    store = open_store(toy["clip_store"])
    from_run = Action2Vec.from_pretrained(train).encode_store(store, [0, 1])
    from_model = Action2Vec.from_pretrained(train / "model").encode_store(store, [0, 1])
    np.testing.assert_array_equal(from_run, from_model)
    assert from_run.shape[0] == 2

    # a new label text goes through the text tower the model recorded
    model = Action2Vec.from_pretrained(train)
    assert model.text == f"hf:{toy['clip']}"
    new = model.encode_text(["play violin"])[0]
    direct = create_embedder(f"hf:{toy['clip']}", cache=False).embed(["play violin"])[0]
    assert float(new @ direct / np.linalg.norm(direct)) > 0.999


def test_action2vec_is_compared_with_the_training_free_row(zsl_run) -> None:
    """The row exists to show whether training adds anything over the model's own text match: the paired
    comparisons (zsl.json, table) and the report's findings put each trained method against pooled_match."""
    from action2vec.evaluation.results import ZslSummary
    from action2vec.reports.findings import zsl_findings

    out, printed = zsl_run
    pairs = {(c["a"], c["b"]) for c in json.loads((out / "zsl.json").read_text())["comparisons"]}
    assert ("hrnn_attention", "pooled_match") in pairs and ("hrnn_attention", "pooled_krr") in pairs
    assert "Action2Vec w/dual loss + attention − Pooled features, text match (no training)" in printed
    summary = ZslSummary.from_json(json.loads((out / "zsl.json").read_text()))
    against = {f.values["baseline"] for f in zsl_findings(summary) if f.values["method"] == "hrnn_attention"}
    assert against == {"pooled_krr", "pooled_match"}
    # zsl.json files written before this comparison was stored: the finding computes it from the split scores
    summary.comparisons = [c for c in summary.comparisons if c.b != "pooled_match"]
    assert {f.values["baseline"] for f in zsl_findings(summary)} == {"pooled_krr", "pooled_match"}


def test_the_finding_compares_the_trained_method_not_the_training_free_row(zsl_run) -> None:
    """Without hrnn_attention the finding takes the first trained method, never pooled_match listed first."""
    from action2vec.evaluation.results import ZslSummary
    from action2vec.reports.findings import zsl_findings

    data = json.loads((zsl_run[0] / "zsl.json").read_text())
    data["variants"] = ["pooled_match", "hrnn", "pooled_krr"]
    for row in data["splits"]:
        row["variant"] = "hrnn" if row["variant"] == "hrnn_attention" else row["variant"]
    data["comparisons"] = []
    found = [(f.values["method"], f.values["baseline"]) for f in zsl_findings(ZslSummary.from_json(data))]
    assert found == [("hrnn", "pooled_krr"), ("hrnn", "pooled_match")]
