"""The zsl / eval / export / report commands end to end through ``main([...])`` on a store the test writes."""

import json

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.testing import make_synthetic_store
from action2vec.text import LabelVectors

WORDS = ["play", "throw", "kick", "ride", "carry", "ball", "violin", "piano", "horse", "bike", "box"]
CLASSES = [
    "play violin",
    "play piano",
    "play ball",
    "throw ball",
    "throw box",
    "kick ball",
    "kick box",
    "ride horse",
    "ride bike",
    "carry box",
    "carry bike",
    "carry violin",
]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A word-vector mapping file (class phrases average their words) and a store driven by it."""
    root = tmp_path_factory.mktemp("toy")
    rng = np.random.default_rng(0)
    words = {w: rng.standard_normal(12) for w in WORDS}
    (root / "words.json").write_text(json.dumps({w: v.tolist() for w, v in words.items()}))
    vecs = np.stack([np.mean([words[w] for w in c.split()], axis=0) for c in CLASSES])
    lv = LabelVectors(CLASSES, vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
    store = make_synthetic_store(root / "toy.h5", lv, videos_per_class=8, steps=8, temporal=False, noise=0.3)
    return root, store, f"vectors:{root / 'words.json'}"


def test_zsl_eval_report_text_and_krr(toy, tmp_path, capsys):
    root, store, text = toy
    out = tmp_path / "run"
    assert (
        main(
            [
                "zsl",
                "--store",
                f"toy={store}",
                "--data.text",
                text,
                "--ratios",
                "50/50,80/20",
                "--seeds",
                "2",
                "--variants",
                "pooled_krr",
                "--out",
                str(out),
                "--json",
                str(tmp_path / "zsl.json"),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "zsl.json").read_text())
    cell = summary["datasets"]["toy"]["results"]["pooled_krr"]["50/50"]["top1"]
    assert set(cell) == {"mean", "std", "n"} and cell["n"] == 2
    assert "Pooled features + KRR" in capsys.readouterr().out
    splits = json.loads((out / "splits" / "toy.json").read_text())["splits"]
    assert len(splits) == 4 and all(not set(s["seen"]) & set(s["unseen"]) for s in splits)

    # the saved splits reload: same numbers from another folder
    assert (
        main(
            [
                "zsl",
                "--store",
                f"toy={store}",
                "--data.text",
                text,
                "--splits",
                str(out / "splits" / "toy.json"),
                "--variants",
                "pooled_krr",
                "--out",
                str(tmp_path / "again"),
                "--json",
                str(tmp_path / "z2.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "z2.json").read_text())["datasets"] == summary["datasets"]

    assert (
        main(
            [
                "eval",
                "wordnet",
                "--store",
                str(store),
                "--text",
                text,
                "--json",
                str(out / "wordnet.json"),
                "--figures",
                str(out / "figures"),
            ]
        )
        == 0
    )
    wn = json.loads((out / "wordnet.json").read_text())
    assert wn["n_classes"] == 12 and set(wn["spearman_by"]) == {"text", "pooled"}
    assert -1 <= wn["spearman"] <= 1
    assert (out / "figures" / "wordnet_heatmaps.svg").is_file()

    assert (
        main(
            [
                "eval",
                "analogy",
                "--store",
                str(store),
                "--text",
                text,
                "--json",
                str(out / "analogy.json"),
                "--figures",
                str(out / "figures"),
            ]
        )
        == 0
    )
    an = json.loads((out / "analogy.json").read_text())
    assert an["count"] == 6 + 2 + 2 + 2 + 6 and 0 <= an["accuracy"] <= 1
    assert an["accuracy"] > 0.5  # text-only on compositional word vectors

    assert main(["report", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["analogy"]["count"] == 18 and report["wordnet"]["n_classes"] == 12
    assert "data:image/png;base64," in (out / "report.html").read_text()


def test_bad_input_is_one_line_error(toy, tmp_path, capsys):
    root, store, text = toy
    assert main(["eval", "analogy", "--classes", str(tmp_path / "missing.txt"), "--count-only"]) == 2
    assert main(["eval", "wordnet", "--model", str(tmp_path), "--classes", str(tmp_path / "x")]) == 2
    assert (
        main(["zsl", "--store", str(store), "--data.text", text, "--variants", "nope", "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "nope" in err[-1]


@pytest.mark.slow
def test_zsl_training_then_export_and_model_evals(toy, tmp_path, monkeypatch):
    from gensim.models import KeyedVectors

    root, store, text = toy
    out = tmp_path / "run"
    assert (
        main(
            [
                "zsl",
                "--store",
                f"toy={store}",
                "--data.text",
                text,
                "--ratios",
                "80/20",
                "--seeds",
                "1",
                "--variants",
                "hrnn_attention",
                "--out",
                str(out),
                "--model.preset",
                "tiny",
                "--train.epochs",
                "2",
                "--train.progress_bar",
                "false",
            ]
        )
        == 0
    )
    model = next(out.glob("runs/toy/*/hrnn_attention/train/model"))
    assert (
        main(
            [
                "export",
                str(model),
                "--out",
                str(tmp_path / "classes.txt"),
                "--store",
                str(store),
                "--videos",
                str(tmp_path / "videos.txt"),
                "--class-means",
                str(tmp_path / "means.txt"),
            ]
        )
        == 0
    )
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "classes.txt"))
    assert len(kv) == 10 and kv.vector_size == 12  # trained on the 10 seen classes (80% of 12)
    assert len(KeyedVectors.load_word2vec_format(str(tmp_path / "videos.txt"))) == 12 * 8
    assert "play_violin" in KeyedVectors.load_word2vec_format(str(tmp_path / "means.txt"))
    # without --text, the semantic tests embed labels and nouns with the embedder the model records
    assert main(["eval", "wordnet", "--store", str(store), "--model", str(model), "--json", str(out / "wn.json")]) == 0
    wn = json.loads((out / "wn.json").read_text())
    assert list(wn["spearman_by"]) == ["action2vec", "text", "pooled"]
    assert wn["text"] == text
    assert main(["eval", "analogy", "--store", str(store), "--model", str(model), "--json", str(out / "an.json")]) == 0
    an = json.loads((out / "an.json").read_text())
    assert an["class_vectors"] == "action2vec" and an["text"] == text
    # the model's class means are compared with the text vectors alone on the same tests, in both readings
    assert [(s["vectors"], s["exclude_query"]) for s in an["scores"]] == [
        ("action2vec", True),
        ("text", True),
        ("action2vec", False),
        ("text", False),
    ]
    text_alone = json.loads(_analogy_json(store, text, tmp_path / "text.json"))
    assert an["scores"][1]["accuracy"] == text_alone["accuracy"]
    monkeypatch.chdir(root)  # the model's embedder spelled relative to the working folder is the same embedder
    assert (
        main(
            [
                "eval",
                "wordnet",
                "--store",
                str(store),
                "--model",
                str(model),
                "--text",
                "vectors:words.json",
                "--json",
                str(out / "wn2.json"),
            ]
        )
        == 0
    )
    assert json.loads((out / "wn2.json").read_text())["text"] == text
    assert main(["report", str(out)]) == 0
    assert "training_curves" in (out / "report.md").read_text()


@pytest.mark.slow
def test_zsl_paired_comparisons_in_json_table_and_report(toy, tmp_path, capsys):
    """Each trained variant against pooled_krr and the pair named with --compare, over the splits both ran on,
    with the figures scipy gives on the per-split scores the summary lists."""
    from scipy import stats

    root, store, text = toy
    out = tmp_path / "run"
    assert (
        main(
            [
                "zsl",
                "--store",
                f"toy={store}",
                "--data.text",
                text,
                "--ratios",
                "50/50",
                "--seeds",
                "3",
                "--variants",
                "hrnn_attention,pooled_krr",
                "--compare",
                "pooled_krr,hrnn_attention",
                "--out",
                str(out),
                "--model.preset",
                "tiny",
                "--train.epochs",
                "1",
                "--train.progress_bar",
                "false",
            ]
        )
        == 0
    )
    doc = json.loads((out / "zsl.json").read_text())
    top1 = [c for c in doc["comparisons"] if c["metric"] == "top1"]
    assert [(c["a"], c["b"]) for c in top1] == [("hrnn_attention", "pooled_krr"), ("pooled_krr", "hrnn_attention")]
    score = {(r["variant"], r["split"]): r["metrics"]["top1"] for r in doc["splits"]}
    splits = sorted({s for _, s in score})
    a = [score["hrnn_attention", s] for s in splits]
    b = [score["pooled_krr", s] for s in splits]
    c = top1[0]
    assert c["n"] == 3 and c["difference"] == pytest.approx(np.mean(np.subtract(a, b)))
    if np.any(np.subtract(a, b) != 0):
        ci = stats.ttest_rel(a, b).confidence_interval(0.95)
        assert (c["low"], c["high"]) == pytest.approx((ci.low, ci.high))
    assert c["p_min"] >= 0.25 and c["verdict"] == "no significant difference at 5 %"  # 3 splits cannot show one
    printed = capsys.readouterr().out
    assert "| comparison |" in printed and "no significant difference at 5 %" in printed
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "Paired comparisons, top-1" in report and "no significant difference at 5 % between" in report


def _analogy_json(store, text, path) -> str:
    assert main(["eval", "analogy", "--store", str(store), "--text", text, "--json", str(path)]) == 0
    return path.read_text()


def test_analogy_readings_are_a_switch_recorded_in_the_json(toy, tmp_path):
    root, store, text = toy
    out = {}
    for choice in ("yes", "no"):
        assert (
            main(
                [
                    "eval",
                    "analogy",
                    "--store",
                    str(store),
                    "--text",
                    text,
                    "--exclude-query",
                    choice,
                    "--json",
                    str(tmp_path / f"{choice}.json"),
                ]
            )
            == 0
        )
        out[choice] = json.loads((tmp_path / f"{choice}.json").read_text())
    assert out["yes"]["exclude_query"] is True and out["no"]["exclude_query"] is False
    assert out["yes"]["normalize"] is True
    assert out["yes"]["chance"] == pytest.approx(1 / 11) and out["no"]["chance"] == pytest.approx(1 / 12)
    # each file holds its reading first and the other reading's score: the same two numbers
    assert [s["exclude_query"] for s in out["yes"]["scores"]] == [True, False]
    assert out["yes"]["scores"][1]["accuracy"] == out["no"]["accuracy"]
    assert out["no"]["scores"][1]["accuracy"] == out["yes"]["accuracy"]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--zsl.seeds", "0"], "config key 'zsl.seeds': 0 is out of range (must be >= 1)"),
        (["--seeds", "0"], "config key 'zsl.seeds': 0 is out of range (must be >= 1)"),  # the older spelling
        (["--zsl.seen_holdout", "1"], "config key 'zsl.seen_holdout': 1.0 is out of range (must be >= 0 and < 1)"),
        (["--seen-holdout", "1"], "config key 'zsl.seen_holdout': 1.0 is out of range (must be >= 0 and < 1)"),
        (["--overlap-threshold", "-0.5"], "config key 'zsl.overlap_threshold': -0.5 is out of range"),
        (["--zsl.workers", "-1"], "config key 'zsl.workers': -1 is out of range (must be >= 0)"),
        (["--pca-dim", "-3"], "config key 'zsl.pca_dim': -3 is out of range (must be >= 0)"),
        (["--zsl.krr.neighbors", "0"], "config key 'zsl.krr.neighbors': 0 is out of range (must be >= 1)"),
        (["--krr", "neighbors=0"], "config key 'zsl.krr.neighbors': 0 is out of range (must be >= 1)"),
        (["--krr", "neigbors=3"], "unknown config key 'zsl.krr.neigbors'"),
        (["--manifold", "batch_size=0"], "config key 'zsl.manifold.batch_size': 0 is out of range (must be >= 1)"),
        (["--zsl.ratios", ""], "config key 'zsl.ratios': [] is empty"),
        (["--ratios", ""], "config key 'zsl.ratios': [] is empty"),
        (["--zsl.variants", "nope"], "config key 'zsl.variants': unknown variant(s) ['nope']"),
        (["--compare", "hrnn_attention"], "compare 'hrnn_attention': give two different variants as A,B"),
        (["--compare", "hrnn,pooled_krr"], "compare 'hrnn,pooled_krr': hrnn not among the variants"),
    ],
)
def test_zsl_settings_out_of_range_are_one_line_before_any_work(toy, tmp_path, capsys, argv, needle):
    root, store, text = toy
    out = tmp_path / "o"
    assert main(["zsl", "--store", str(store), "--data.text", text, "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not out.exists()


def test_zsl_refuses_a_store_pca_that_saw_unseen_classes_in_one_line(toy, tmp_path, capsys):
    from action2vec.store import open_store
    from action2vec.store.pca import pca_store

    root, store, text = toy
    reduced = pca_store(store, tmp_path / "pca.h5", dim=4, fit_keys=open_store(store).keys)
    argv = [
        "zsl",
        "--store",
        f"toy={reduced}",
        "--data.text",
        text,
        "--ratios",
        "50/50",
        "--seeds",
        "1",
        "--variants",
        "pooled_krr",
    ]
    assert main([*argv, "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pca.h5" in err[0] and "split 50-50_seed0" in err[0] and "--zsl.transductive" in err[0]
    assert not (tmp_path / "refused").exists()
    assert main([*argv, "--transductive", "--out", str(tmp_path / "t"), "--json", str(tmp_path / "t.json")]) == 0
    summary = json.loads((tmp_path / "t.json").read_text())
    assert summary["transductive"] and summary["splits"][0]["pca"] == {"fitted_on": "store", "videos": 12 * 8}
    assert "(transductive)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["analogy", "--analogy.examples", "-1"], "config key 'analogy.examples': -1 is out of range (must be >= 0)"),
        (["analogy", "--examples", "-1"], "config key 'analogy.examples': -1 is out of range (must be >= 0)"),
        (
            ["analogy", "--max-videos-per-class", "-2"],
            "config key 'analogy.max_videos_per_class': -2 is out of range (must be >= 0)",
        ),
        (["analogy", "--analogy.metric", "manhattan"], "config key 'analogy.metric': 'manhattan' is not one of"),
        (
            ["wordnet", "--max-videos-per-class", "-1"],
            "config key 'wordnet.max_videos_per_class': -1 is out of range (must be >= 0)",
        ),
        (["wordnet", "--wordnet.synsets", "all"], "config key 'wordnet.synsets': 'all' is not one of"),
    ],
)
def test_eval_options_out_of_range_are_one_line(toy, tmp_path, capsys, argv, needle):
    root, store, text = toy
    out = tmp_path / "r.json"
    assert main(["eval", *argv, "--store", str(store), "--text", text, "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not out.exists()


def test_zsl_prompts_reach_the_label_vectors_and_the_model(toy, tmp_path):
    """--data.prompts is not dropped: the split's model records (and was trained on) the prompted vectors."""
    from action2vec.errors import DataError
    from action2vec.inference import Action2Vec
    from action2vec.text import create_embedder

    try:
        create_embedder("minilm", cache=False).dim
    except DataError as exc:
        pytest.skip(str(exc))
    root, store, _ = toy
    out = tmp_path / "p"
    prompts = ["a video of a person {}", "someone doing {}"]
    assert (
        main(
            [
                "zsl",
                "--store",
                f"toy={store}",
                "--data.text",
                "minilm",
                "--data.prompts",
                ",".join(prompts),
                "--ratios",
                "50/50",
                "--seeds",
                "1",
                "--variants",
                "hrnn_attention",
                "--model.preset",
                "tiny",
                "--train.epochs",
                "1",
                "--train.progress_bar",
                "false",
                "--workers",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    model = Action2Vec.load(out / "runs" / "toy" / "50-50_seed0" / "hrnn_attention" / "train" / "model")
    assert model.prompts == tuple(prompts)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--model.window_stride", "10"], "model.window_stride"),
        (["--model.preset", "huge"], "model.preset"),
    ],
)
def test_zsl_model_settings_are_checked_before_anything_is_written(toy, tmp_path, capsys, argv, needle):
    root, store, text = toy
    out = tmp_path / "o"
    assert (
        main(
            [
                "zsl",
                "--store",
                f"toy={store}",
                "--data.text",
                text,
                "--ratios",
                "50/50",
                "--seeds",
                "1",
                "--workers",
                "1",
                "--out",
                str(out),
                *argv,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not out.exists()


def test_zsl_python_api_runs_what_the_command_runs(toy, tmp_path):
    """run_zero_shot(ZslRun(...)) with the settings the options name gives the command's numbers and files."""
    from action2vec.evaluation.krr import KRRConfig
    from action2vec.experiments.zero_shot import ZslConfig, ZslRun, run_zero_shot
    from action2vec.io import read_json
    from action2vec.training.config import RunConfig

    root, store, text = toy
    argv = [
        "zsl",
        "--store",
        f"toy={store}",
        "--data.text",
        text,
        "--zsl.ratios",
        "50/50,80/20",
        "--seeds",
        "2",
        "--zsl.variants",
        "pooled_krr",
        "--krr",
        "neighbors=3",
        "--zsl.overlap_threshold",
        "0.99",
        "--out",
        str(tmp_path / "cli"),
        "--json",
        str(tmp_path / "cli.json"),
    ]
    assert main(argv) == 0
    train = RunConfig()
    train.data.text = text
    run = ZslRun(
        stores={"toy": str(store)},
        out=tmp_path / "api",
        train=train,
        zsl=ZslConfig(
            ratios=["50/50", "80/20"],
            seeds=2,
            variants=["pooled_krr"],
            overlap_threshold=0.99,
            krr=KRRConfig(neighbors=3),
        ),
    )
    summary = run_zero_shot(run).to_json()
    cli = read_json(tmp_path / "cli.json")
    assert summary["datasets"] == cli["datasets"] and summary["config"] == cli["config"]
    assert [s["metrics"] for s in summary["splits"]] == [s["metrics"] for s in cli["splits"]]
    assert (tmp_path / "api" / "splits" / "toy.json").read_text() == (
        tmp_path / "cli" / "splits" / "toy.json"
    ).read_text()
    assert (tmp_path / "api" / "zsl_table.md").read_text() == (tmp_path / "cli" / "zsl_table.md").read_text()


def test_eval_python_api_runs_what_the_command_runs(toy, tmp_path):
    """run_wordnet_test / run_analogy_test with the settings the options name give the command's JSON; the older
    option spellings write the same settings as the --wordnet.key / --analogy.key ones."""
    from action2vec.experiments.semantic import (
        AnalogyRun,
        AnalogySettings,
        SemanticInputs,
        WordNetRun,
        WordNetSettings,
        run_analogy_test,
        run_wordnet_test,
    )

    root, store, text = toy
    inputs = SemanticInputs(store=store, text=text)
    assert (
        main(
            [
                "eval",
                "wordnet",
                "--store",
                str(store),
                "--text",
                text,
                "--wordnet.synsets",
                "first",
                "--keep-diagonal",
                "--json",
                str(tmp_path / "wn.json"),
            ]
        )
        == 0
    )
    api = run_wordnet_test(WordNetRun(inputs, WordNetSettings(synsets="first", keep_diagonal=True)))
    assert json.loads((tmp_path / "wn.json").read_text()) == json.loads(json.dumps(api.to_json()))
    assert api.synsets == "first" and api.n_classes == 12

    for spelling in (
        ["--analogy.metric", "cosine", "--analogy.exclude_query", "false", "--analogy.examples", "3"],
        ["--metric", "cosine", "--exclude-query", "no", "--examples", "3"],
    ):
        assert (
            main(
                [
                    "eval",
                    "analogy",
                    "--store",
                    str(store),
                    "--text",
                    text,
                    *spelling,
                    "--json",
                    str(tmp_path / "an.json"),
                ]
            )
            == 0
        )
        api = run_analogy_test(AnalogyRun(inputs, AnalogySettings(metric="cosine", exclude_query=False, examples=3)))
        assert json.loads((tmp_path / "an.json").read_text()) == json.loads(json.dumps(api.to_json()))
        assert api.metric == "cosine" and api.exclude_query is False and 0 < len(api.examples) <= 3
