"""report.html / report.md from templates: every section present in the results and none absent, each figure
in the section of the table it illustrates with a caption that is not its file name, one number format,
the data and settings that were used, the findings in both pages, nothing fetched from the network."""

from __future__ import annotations

import datetime
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from action2vec.evaluation.results import (
    AnalogyExample,
    AnalogyResult,
    AnalogyScore,
    ClassGrouping,
    DataSource,
    GroupAgreement,
    PcaFit,
    WordNetResult,
    ZslSplitResult,
    ZslSummary,
)
from action2vec.io import write_json
from action2vec.reports.report import build_page, build_report, collect_results, render_markdown
from action2vec.reports.settings import data_and_settings

FIGURES = [
    "confusion_toy_hrnn_attention",
    "confusion_toy_pooled_krr",
    "wordnet_heatmaps",
    "tsne_action2vec",
    "analogy_examples",
]
SECTION_OF_FIGURE = {
    "confusion_toy_hrnn_attention": "zsl",
    "confusion_toy_pooled_krr": "zsl",
    "wordnet_heatmaps": "wordnet",
    "tsne_action2vec": "wordnet",
    "analogy_examples": "analogy",
    "training_curves": "training",
}


def _png(path: Path) -> None:
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [0, 1])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=20)


def _zsl() -> ZslSummary:
    results = [
        ZslSplitResult(
            dataset="toy",
            split=f"50-50_seed{s}",
            ratio="50/50",
            seed=s,
            variant=v,
            metrics={"top1": top1, "top5": 0.9, "n": 30},
            chance={"top1": 1 / 30, "top5": 5 / 30},
            seen_classes=["a"],
            unseen_classes=["b"],
            confusion=np.eye(2, dtype=np.int64),
            pca=PcaFit("seen", 240),
            features="pooled c3d fc7 (4096-d)",
        )
        for s in range(2)
        for v, top1 in (("hrnn_attention", 0.7 + 0.1 * s), ("pooled_krr", 0.6))
    ]
    summary = ZslSummary.from_splits(results)
    summary.datasets["toy"].source = DataSource(
        "/data/toy_c3d.h5",
        480,
        60,
        {"backbone": "c3d", "layer": "fc7", "dim": 4096, "pca": None},
        "minilm",
        ["a video of {}", "someone | doing {}"],
    )
    summary.config = {
        "ratios": ["50/50"],
        "seeds": 2,
        "krr": {
            "kernel": "rbf",
            "sigma_scale": 1.0,
            "gamma_a": 0.1,
            "gamma_i": 0.1,
            "neighbors": 10,
            "max_train": 4000,
        },
    }
    return summary


def _wordnet() -> WordNetResult:
    wn = WordNetResult(
        ["a x", "b x", "a y"],
        {"action2vec": 0.098, "text": 0.171, "pooled": 0.121},
        {"action2vec": 0.1, "text": 0.1, "pooled": 0.1},
        {"action2vec": [0.1, 0.0, 0.2], "text": [0.2, 0.1, 0.2], "pooled": [0.1, 0.1, 0.1]},
        text="minilm",
        n_classes_given=3,
        features="pooled c3d fc7 (4096-d)",
    )
    wn.grouping = {"action2vec": ClassGrouping(GroupAgreement(0.5, 0.25, 3), GroupAgreement(0.25, 0.5, 3))}
    return wn


def _analogy() -> AnalogyResult:
    scores = [AnalogyScore(v, True, 4, acc, 0.25) for v, acc in (("action2vec", 0.5), ("text", 0.75))]
    ex = [AnalogyExample("a x", "x", "y", "a y", "a y", True)]
    return AnalogyResult(4, 2, 0.5, 0.25, {}, ex, class_vectors="action2vec", text="minilm", n_classes=3, scores=scores)


def _model_folder(path: Path) -> None:
    write_json(
        {
            "format": "action2vec-model",
            "version": 2,
            "model": {"variant": "hrnn_attention", "input_dim": 8, "embed_dim": 4},
            "loss": {"margin": 0.5, "lambda_initial": 0.1, "lambda_final": 0.02, "lambda_switch": 0.75},
            "train": {"epochs": 50, "batch_size": 32, "lr": 0.003, "seed": 0},
            "data": {"store": "/data/toy_c3d.h5", "train_videos": 480, "val_videos": 0},
            "classes": ["a x", "b x", "a y"],
            "features": {"backbone": "c3d", "layer": "fc7", "dim": 8},
        },
        path / "config.json",
    )
    write_json(
        {"names": ["a x", "b x", "a y"], "embedder": "minilm", "prompts": ["a video of {}"]}, path / "labels.json"
    )


@pytest.fixture
def full_run(tmp_path: Path) -> Path:
    """A run folder with every kind of result, its figures, a training run and a model folder."""
    write_json(_zsl().to_json(), tmp_path / "zsl" / "zsl.json")
    write_json(_wordnet().to_json(), tmp_path / "wordnet.json")
    write_json(_analogy().to_json(), tmp_path / "analogy.json")
    for stem in FIGURES:
        _png(tmp_path / "figures" / f"{stem}.png")
    run = tmp_path / "full"
    (run / "logs" / "csv" / "version_0").mkdir(parents=True)
    (run / "logs" / "csv" / "version_0" / "metrics.csv").write_text(
        "epoch,step,train/loss_epoch,train/loss_step\n0,4,0.9,\n1,9,,0.5\n1,9,0.4,\n"
    )
    write_json(
        {"metrics": {"train/loss_epoch": 0.4}, "classes": ["a x", "b x", "a y"], "global_step": 10}, run / "result.json"
    )
    _model_folder(run / "model")
    return tmp_path


class _Sections(HTMLParser):
    """Which section each figure caption, table and finding of the page stands in."""

    def __init__(self) -> None:
        super().__init__()
        self.section, self.tag = None, None
        self.ids: list[str] = []
        self.captions: dict[str, list[str]] = {}
        self.images: dict[str, list[str]] = {}
        self.cells: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.section = attrs["id"]
            self.ids.append(attrs["id"])
        if tag == "img":
            self.images.setdefault(self.section, []).append(attrs["src"])
        self.tag = tag

    def handle_data(self, data):
        if self.tag == "figcaption":
            self.captions.setdefault(self.section, []).append(data)
        if self.tag == "td" and data.strip():
            self.cells.append(data.strip())

    def handle_endtag(self, tag):
        self.tag = None


def _parse(html: str) -> _Sections:
    parser = _Sections()
    parser.feed(html)
    return parser


def test_every_section_present_and_each_figure_beside_its_table(full_run: Path):
    paths = build_report(full_run, "test run")
    page = _parse(paths["html"].read_text())
    assert page.ids == ["findings", "settings", "zsl", "wordnet", "analogy", "training"]
    counts = {key: sum(1 for s in SECTION_OF_FIGURE.values() if s == key) for key in set(SECTION_OF_FIGURE.values())}
    assert {k: len(v) for k, v in page.images.items()} == counts
    assert all(src.startswith("data:image/png;base64,") for srcs in page.images.values() for src in srcs)
    for section, captions in page.captions.items():
        for caption in captions:  # a caption says what the figure shows, never its file name
            assert not any(stem in caption or stem.replace("_", " ") in caption for stem in SECTION_OF_FIGURE)
            assert ".png" not in caption and len(caption.split()) >= 8
    assert "Unseen-class confusion of Action2Vec w/dual loss + attention on toy, split 50-50_seed0" in " ".join(
        page.captions["zsl"]
    )
    assert any(c.startswith("t-SNE of Action2Vec's class means of all 3 classes") for c in page.captions["wordnet"])
    assert "The pooled row read pooled c3d fc7 (4096-d)." in paths["md"].read_text()


def test_no_section_for_what_the_run_does_not_hold(tmp_path: Path):
    write_json(_wordnet().to_json(), tmp_path / "wordnet.json")
    page = _parse(build_report(tmp_path)["html"].read_text())
    assert page.ids == ["findings", "settings", "wordnet"] and not page.images
    md = (tmp_path / "report.md").read_text()
    assert "## WordNet test and class structure" in md and "Zero-shot" not in md and "## Training" not in md
    _png(tmp_path / "figures" / "something_else.png")  # a figure no section claims: its own section
    page = _parse(build_report(tmp_path)["html"].read_text())
    assert page.ids[-1] == "figures" and len(page.images["figures"]) == 1


def test_one_number_format(full_run: Path):
    paths = build_report(full_run)
    html, md = paths["html"].read_text(), paths["md"].read_text()
    page = _parse(html)
    numbers = [c for c in page.cells if re.fullmatch(r"[-\d.± ]+", c) and c != "-"]
    assert numbers
    for cell in numbers:  # % with two decimals (± std), ρ and losses with three, counts as integers
        assert re.fullmatch(r"\d+\.\d\d( ± \d+\.\d\d)?|-?\d\.\d{3}|\d+", cell), cell
    assert "50.00" in page.cells and "0.5000" not in html  # the analogy accuracy, a fraction before
    for text in (html, md):
        for pct in re.findall(
            r"[\d.]+ %", text
        ):  # results; the test's levels ("at 5 %", "95 % interval") are no result
            assert re.fullmatch(r"\d+\.\d\d %", pct) or pct in ("5 %", "95 %"), pct
        assert "Spearman ρ" in text and "Spearman correlation" not in text


def test_data_and_settings_lists_what_was_used(full_run: Path):
    when = datetime.datetime(2026, 11, 27, 9, 30, tzinfo=datetime.timezone.utc)
    results = collect_results(full_run)
    rows = data_and_settings(full_run, results.zsl, results.wordnet, results.analogy, now=when)
    text = {(r.topic, r.name): r.value for r in rows}
    assert text[("Data", "zero-shot data set toy")] == "/data/toy_c3d.h5 (480 videos, splits drawn from 60 classes)"
    assert text[("Data", "features of toy")].startswith("c3d fc7, 4096-d")
    assert "minilm, prompts “a video of {}”; “someone | doing {}”" in text.values()
    assert text[("Zero-shot protocol", "class splits")] == "50/50: 2 random splits (seeds 0, 1)"
    assert (
        text[("Zero-shot protocol", "methods")]
        == "Action2Vec w/dual loss + attention, Pooled features + KRR (Laplacian)"
    )
    assert text[("Zero-shot protocol", "transductive")] == "no"
    assert text[("Zero-shot protocol", "PCA of Action2Vec w/dual loss + attention")] == (
        "fitted per split on its seen classes' training videos (240 videos)"
    )
    assert text[("Methods", "Pooled features + KRR (Laplacian)")].startswith("rbf kernel")
    model = text[("Methods", "model full/model")]
    assert (
        "50 epochs, batch 32, lr 0.003" in model
        and "margin 0.5" in model
        and "480 training videos of 3 classes" in model
    )
    assert "3 of 3 classes found in WordNet" in text[("Semantic tests", "WordNet test")]
    assert text[("Semantic tests", "analogy test")].startswith("4 tests on 3 classes; euclidean distance")
    assert re.fullmatch(r"(git \S+|version \S+)", text[("Code", "action2vec")])
    assert text[("Code", "report written")] == "2026-11-27 09:30 UTC"
    paths = build_report(full_run)
    assert "/data/toy_c3d.h5 (480 videos, splits drawn from 60 classes)" in paths["html"].read_text()
    rows = [line for line in paths["md"].read_text().splitlines() if "someone" in line]
    assert rows and all(line.replace("\\|", "").count("|") == 4 for line in rows), rows  # a | in a prompt adds no cell


def test_findings_in_both_pages_and_in_report_json(full_run: Path):
    paths = build_report(full_run)
    report = json.loads(paths["json"].read_text())
    topics = [f["topic"] for f in report["findings"]]
    assert topics == ["zsl", "wordnet", "grouping", "analogy"]
    html, md = paths["html"].read_text(), paths["md"].read_text()
    for f in report["findings"]:
        assert f["text"] in md and f["text"].replace("'", "&#39;") in html
    assert "correlate with WordNet neither more nor less than the text vectors" in md
    # each finding stands in its section, next to the table and figure it reads
    page = build_page(full_run, collect_results(full_run), "t")
    by_section = {s.key: [f.topic for b in s.blocks for f in b.findings] for s in page.sections}
    assert by_section["zsl"] == ["zsl"] and by_section["wordnet"] == ["wordnet", "grouping"]
    assert by_section["analogy"] == ["analogy"]
    assert render_markdown(page).count("**Found:**") == 4


def test_the_page_needs_no_network(full_run: Path):
    html = build_report(full_run)["html"].read_text()
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert "@import" not in html and "<script" not in html


def test_results_keep_what_the_report_reads_through_json():
    zsl = _zsl()
    back = ZslSummary.from_json(json.loads(json.dumps(zsl.to_json())))
    assert back.datasets["toy"].source == zsl.datasets["toy"].source and back.config == zsl.config
    assert [r.metrics for r in back.runs] == [r.metrics for r in zsl.runs] and back.runs[0].metrics["top1"] == 0.7
    assert "n" not in back.runs[0].metrics  # counts are not scores
    wn = _wordnet()
    wn.map_grouping = {"action2vec": ClassGrouping(GroupAgreement(0.0, 0.25, 3), GroupAgreement(1.0, 0.5, 3))}
    again = WordNetResult.from_json(json.loads(json.dumps(wn.to_json())))
    assert again.grouping == wn.grouping and again.map_grouping == wn.map_grouping
    old = wn.to_json()
    del old["grouping"], old["map_grouping"]
    assert WordNetResult.from_json(old).grouping == {}  # files written before read as before


def test_zsl_and_eval_record_what_the_report_needs(tmp_path: Path):
    """Through the CLI on a store the test writes: zsl.json records the store, its counts, the label texts, the
    protocol's settings and each split's scores; eval wordnet records how the classes group; the report says it."""
    from action2vec.cli.main import main
    from action2vec.testing import make_synthetic_store
    from action2vec.text import LabelVectors

    words = ["play", "throw", "kick", "ball", "violin", "box"]
    classes = [
        "play violin",
        "play ball",
        "play box",
        "throw ball",
        "throw box",
        "kick ball",
        "kick box",
        "throw violin",
    ]
    rng = np.random.default_rng(0)
    vec = {w: rng.standard_normal(8) for w in words}
    (tmp_path / "words.json").write_text(json.dumps({w: v.tolist() for w, v in vec.items()}))
    lv = np.stack([np.mean([vec[w] for w in c.split()], axis=0) for c in classes])
    store = make_synthetic_store(
        tmp_path / "toy.h5", LabelVectors(classes, lv), videos_per_class=6, steps=6, temporal=False, noise=0.3
    )
    text, out = f"vectors:{tmp_path / 'words.json'}", tmp_path / "run"
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
                "2",
                "--variants",
                "pooled_krr",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    summary = json.loads((out / "zsl.json").read_text())
    source = summary["datasets"]["toy"]["source"]
    assert source["store"] == str(store) and source["videos"] == 48 and source["classes"] == 8
    assert source["text"].startswith("vectors:") and summary["config"]["krr"]["kernel"] == "rbf"
    assert all(0 <= s["metrics"]["top1"] <= 1 for s in summary["splits"])
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
    assert set(wn["grouping"]) == {"text", "pooled"} and set(wn["map_grouping"]) == {"text"}
    assert main(["report", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert f"{store} (48 videos, splits drawn from 8 classes)" in md and "50/50: 2 random splits (seeds 0, 1)" in md
    assert "The text vectors group by" in md and "The t-SNE map" in md


def test_paths_inside_the_run_folder_are_shown_relative(tmp_path: Path):
    """report.md held the absolute path of the demo's features.h5: a path inside the run folder is relative."""
    from action2vec.reports.settings import shown_path

    assert shown_path(str(tmp_path / "features.h5"), tmp_path) == "features.h5"
    assert shown_path(str(tmp_path / "a" / "s.h5"), tmp_path / "a" / "..") == "a/s.h5"
    assert shown_path("/data/toy_c3d.h5", tmp_path) == "/data/toy_c3d.h5"
