"""The demo: the whole pipeline on the built-in toy actions, from video files to a report, on a CPU.

Stages (each reuses what an earlier run of the same configuration finished):

1. ``generate``  toy videos of shapes doing actions (:mod:`action2vec.datasets.toy`)  -> OUT/toy/
2. ``extract``   clip features with the weight-free ``motion`` backbone                -> OUT/features.h5
3. ``labels``    label-text vectors of the "verb noun" class names (MiniLM by default)
4. ``zero-shot`` random class splits; per split, Action2Vec (HRNN with attention, dual loss) and the
                 pooled-feature KRR baseline trained on the seen classes, tested on the unseen ones
                 -> OUT/zsl/ (zsl.json, per-split results and training runs)
5. ``full``      Action2Vec trained on every class, as the paper does for its semantic tests -> OUT/full/
6. ``semantic``  WordNet correlation and vector-arithmetic analogies of its class means, t-SNE and
                 similarity pictures -> OUT/wordnet.json, OUT/analogy.json, OUT/figures/
7. ``report``    OUT/report.html, report.md, report.json

    result = run_demo(Path("demo"), demo_config("full"))
    result.headline   # {"zsl": {"hrnn_attention": {"top1": ...}, "pooled_krr": ..., "chance": ...}, ...}
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from action2vec.config import option, to_dict
from action2vec.datasets.toy import ToyConfig
from action2vec.errors import ConfigError
from action2vec.evaluation.krr import KRRConfig
from action2vec.losses.dual import LossConfig
from action2vec.models.factory import ModelConfig
from action2vec.training.config import DataConfig, RunConfig, TrainConfig
from action2vec.video.config import ClipConfig, ComputeConfig, ExtractConfig

__all__ = ["DemoConfig", "DemoResult", "demo_config", "run_demo", "headline_table", "STAGES"]

log = logging.getLogger(__name__)

STAGES = ("generate", "extract", "labels", "zero-shot", "full", "semantic", "report")
DATASET = "toy"


def _train_defaults() -> RunConfig:
    """The paper's model (HRNN with attention, dual loss) at a size fit for 42-d toy features on a CPU.

    Tuned on the toy data (docs/demo.md): a ranking margin of 0.5 and a CE weight of 0.1 before the
    switch (paper: 0.2 and 1.0 for its larger models and data) transfer best to the unseen classes; batches
    of 32 for 50 epochs beat batches of 16 for 30 by 2-6 points of zero-shot top-1 at the same cost.
    """
    return RunConfig(
        data=DataConfig(val_fraction=0.0),
        model=ModelConfig(variant="hrnn_attention", preset="cpu", lstm1_hidden=64, lstm2_hidden=64, dropout=0.2,
                          attention_dim=16, window=4, window_stride=4),
        loss=LossConfig(margin=0.5, lambda_initial=0.1),
        train=TrainConfig(epochs=50, batch_size=32, lr=3e-3, progress_bar=False, log_every_n_steps=5),
    )


@dataclass
class DemoConfig:
    """Settings of the demo; every stage's own config is a section."""

    toy: ToyConfig = field(default_factory=ToyConfig, metadata={"help": "the toy data set"})
    video: ClipConfig = field(
        default_factory=lambda: ClipConfig(fps=12.0, duration=4.0, stride=4),
        metadata={"help": "decoding and clip sampling (the toy videos are 2.5-5 s at 12 fps)"},
    )
    compute: ComputeConfig = field(
        default_factory=lambda: ComputeConfig(batch_size=96, workers=1, flush_every=128, progress=True),
        metadata={"help": "extraction batching and workers"},
    )
    run: RunConfig = field(default_factory=_train_defaults,
                           metadata={"help": "Action2Vec training (run.data.text: the label-text embedder; minilm needs no download)"})
    krr: KRRConfig = field(default_factory=KRRConfig, metadata={"help": "the pooled-feature KRR baseline"})
    ratio: str = option("50/50", "seen/unseen class ratio of the zero-shot splits", nonempty=True)
    splits: int = option(5, "random class splits (seeds 0..N-1); results are mean ± std over them", ge=1)
    workers: int = option(0, "parallel zero-shot jobs (0: as the cores allow at 2 threads each)", ge=0)
    threads: int = option(1, "torch threads (0: torch's default); the demo's models are small, so on a busy "
                          "CPU more threads cost more than they give", ge=0)


def demo_config(size: str = "full") -> DemoConfig:
    """``full``: 12 verbs x 5 nouns x 8 videos (the README figures); ``quick``: a small run for tests."""
    if size == "full":
        return DemoConfig()
    if size == "quick":
        base = DemoConfig()
        run = base.run
        return replace(
            base,
            toy=ToyConfig(verbs=["slide", "spin", "grow", "fall", "appear", "vanish"], nouns=["ball", "box", "star"],
                          videos_per_class=4, min_seconds=2.0, max_seconds=3.5),
            video=ClipConfig(fps=12.0, duration=3.0, stride=4),
            run=replace(run, train=replace(run.train, epochs=15)),
            splits=1,
        )
    raise ConfigError(f"demo size {size!r}: choose full or quick")


@dataclass
class DemoResult:
    """What a demo run produced."""

    out_dir: Path
    report: dict[str, Path]  # md, html, json
    headline: dict[str, Any]  # the numbers report.json leads with
    seconds: dict[str, float] = field(default_factory=dict)  # per stage


@contextlib.contextmanager
def _stage(number: int, name: str, seconds: dict[str, float]) -> Iterator[None]:
    log.info("[%d/%d] %s ...", number, len(STAGES), name)
    start = time.perf_counter()
    yield
    seconds[name] = time.perf_counter() - start
    log.info("[%d/%d] %s done in %.1f s", number, len(STAGES), name, seconds[name])


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's per-run banners and hints at WARNING level: the demo trains a dozen small models."""
    import warnings

    import lightning.pytorch  # noqa: F401  (it sets its loggers' levels when first imported)

    loggers = [logging.getLogger(name) for name in ("lightning", "lightning.pytorch", "lightning.fabric")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"lightning(\.|$)")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def run_demo(out_dir: str | Path, cfg: DemoConfig | None = None) -> DemoResult:
    """Run (or resume) every stage into ``out_dir``; returns the report paths and headline numbers."""
    from action2vec.config import save_config

    cfg = cfg or DemoConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _torch_threads(cfg.threads):
        result = _run_stages(out, cfg)
    save_config(cfg, out / "demo_config.yaml")  # after the stages accepted it (a changed config is refused)
    return result


def _run_stages(out: Path, cfg: DemoConfig) -> DemoResult:
    """The seven stages in order; each reuses what a previous run of the same configuration finished."""
    from action2vec.datasets.toy import generate_toy_dataset
    from action2vec.evaluation.protocol import ZslConfig, plan_jobs, run_zsl
    from action2vec.evaluation.splits import random_splits, save_splits
    from action2vec.store import open_store
    from action2vec.text import build_label_vectors, load_wordnet
    from action2vec.video.backbones import create_backbone
    from action2vec.video.extract import extract_videos, read_video_list

    seconds: dict[str, float] = {}
    with _stage(1, "generate", seconds):
        toy = generate_toy_dataset(out / "toy", cfg.toy)
        log.info("%d videos of %d classes in %s", len(toy.videos), len(toy.classes), toy.root)

    store_path = out / "features.h5"
    with _stage(2, "extract", seconds):
        backbone = create_backbone("motion")
        summary = extract_videos(read_video_list(toy.list_path), store_path, backbone,
                                 ExtractConfig(video=cfg.video, compute=cfg.compute))
        if summary.failed:
            log.warning("%d videos could not be read: %s", summary.failed, summary.failures)
    store = open_store(store_path)
    classes = store.classes

    with _stage(3, "labels", seconds):
        wordnet = load_wordnet()
        vectors = build_label_vectors(classes, cfg.run.data.text, overrides=toy.overrides_path, wordnet=wordnet)

    with _stage(4, "zero-shot", seconds), _quiet_lightning():
        splits = random_splits(classes, [cfg.ratio], range(cfg.splits))
        save_splits(splits, out / "zsl" / "splits" / f"{DATASET}.json")
        zsl_cfg = ZslConfig(ratios=[cfg.ratio], seeds=cfg.splits, variants=["hrnn_attention", "pooled_krr"],
                            workers=cfg.workers, krr=cfg.krr)
        jobs = plan_jobs(DATASET, store_path, splits, vectors, zsl_cfg, cfg.run, out / "zsl")
        zsl = run_zsl(jobs, out / "zsl", workers=cfg.workers)
        _confusion_figures(out, jobs)

    with _stage(5, "full", seconds), _quiet_lightning():
        model_dir = _train_full(out / "full", cfg.run, store, vectors)

    with _stage(6, "semantic", seconds):
        wordnet_result, analogy_result = _semantic_tests(out, store, classes, vectors, model_dir, cfg.run.data.text,
                                                         toy.overrides_path, wordnet, split_job=jobs[0])

    with _stage(7, "report", seconds):
        headline = _headline(zsl, cfg.ratio, wordnet_result, analogy_result)
        report = _write_report(out, headline, seconds, cfg, len(store))
    return DemoResult(out_dir=out, report=report, headline=headline, seconds=seconds)


def _train_full(run_dir: Path, run: RunConfig, store: Any, vectors: Any) -> Path:
    """Action2Vec on every class (the model of the semantic tests); reuses a finished run."""
    from action2vec.training import fit

    model_dir = run_dir / "model"
    if (run_dir / "result.json").is_file() and (model_dir / "config.json").is_file():
        log.info("full model finished before, reusing %s", model_dir)
        return model_dir
    return fit(run, run_dir, store=store, label_vectors=vectors).model_dir


def _semantic_tests(
    out: Path, store: Any, classes: list[str], vectors: Any, model_dir: Path, text: str, overrides: Path, wordnet: Any,
    split_job: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """WordNet and analogy tests on the class means of the full model, with their pictures.

    The analogy test is also run on the class means of the first zero-shot split's model, which never
    saw the unseen classes (``analogy["zero_shot_model"]``: all tests, and those between unseen classes).
    """
    from action2vec.evaluation.analogy import analogy_pairs, analogy_score, analogy_test
    from action2vec.evaluation.class_vectors import store_class_means
    from action2vec.evaluation.wordnet_test import cosine_matrix, select_wordnet_classes, wordnet_test, wup_matrix
    from action2vec.inference import Action2Vec
    from action2vec.reports.plots import plot_analogy_examples, plot_class_map, plot_similarity_heatmaps, save_figure
    from action2vec.io import write_json
    from action2vec.text import create_embedder
    from action2vec.text.normalize import normalize_labels

    labels = normalize_labels(classes, overrides, wordnet=wordnet)
    means = {
        "action2vec": store_class_means(store, classes, Action2Vec.load(model_dir)),
        "text": vectors.lookup(classes),
        "pooled": store_class_means(store, classes, None),
    }

    keep, lemmas = select_wordnet_classes(labels, wordnet)
    reference = wup_matrix(lemmas, wordnet)
    kept = [classes[i] for i in keep]
    wn = wordnet_test(kept, reference, {k: v[keep] for k, v in means.items()})
    write_json(wn, out / "wordnet.json")

    pairs = analogy_pairs(labels)
    nouns = sorted({p.noun_a for p in pairs} | {p.noun_b for p in pairs})
    noun_vectors = dict(zip(nouns, create_embedder(text).embed(nouns)))
    analogy = analogy_test(means["action2vec"], noun_vectors, pairs, classes)
    split_means = store_class_means(store, classes, Action2Vec.load(split_job.folder / "train" / "model"))
    unseen = {classes.index(c) for c in split_job.split.unseen}
    between_unseen = [p for p in pairs if p.a in unseen and p.b in unseen]
    split_model = f"action2vec, model of split {split_job.split.name}"
    runs = [("action2vec", "", means["action2vec"], pairs), ("text", "", means["text"], pairs),
            (split_model, "", split_means, pairs), (split_model, "between its unseen classes", split_means, between_unseen)]
    analogy["scores"] = [
        analogy_score(analogy_test(vecs, noun_vectors, tests, classes, n_examples=0, exclude_query=exclude), name, subset)
        for exclude in (True, False) for name, subset, vecs, tests in runs
    ]
    write_json(analogy, out / "analogy.json")

    figures = out / "figures"
    verbs = [label.verb for label in labels]
    save_figure(plot_class_map(means["action2vec"], classes, groups=verbs,
                               title="t-SNE of Action2Vec class means (colour: verb)"), figures / "tsne_action2vec")
    save_figure(plot_similarity_heatmaps(reference, {k: cosine_matrix(v[keep]) for k, v in means.items()}, kept),
                figures / "wordnet_heatmaps")
    if analogy["examples"]:
        save_figure(plot_analogy_examples(analogy["examples"]), figures / "analogy_examples")
    return wn, analogy


def _confusion_figures(out: Path, jobs: list[Any]) -> None:
    """Unseen-class confusion matrix of the first split, per variant."""
    import json

    from action2vec.reports.plots import plot_confusion, save_figure

    first = jobs[0].split.name
    for job in jobs:
        path = job.folder / "result.json"
        if job.split.name != first or not path.is_file():
            continue
        result = json.loads(path.read_text())
        fig = plot_confusion(result["confusion"], result["unseen_classes"],
                             title=f"{job.split.name} {job.variant}: unseen-class confusion")
        save_figure(fig, out / "figures" / f"confusion_{job.variant}")


def _cell(zsl: dict[str, Any], variant: str, ratio: str) -> dict[str, float]:
    metrics = zsl["datasets"][DATASET]["results"][variant][ratio]
    return {name: metrics[name]["mean"] for name in ("top1", "top5", "mean_class_acc") if name in metrics} | {
        "top1_std": metrics["top1"]["std"], "splits": metrics["top1"]["n"]}


def _headline(zsl: dict[str, Any], ratio: str, wordnet: dict[str, Any], analogy: dict[str, Any]) -> dict[str, Any]:
    """The figures report.json leads with (accuracies as fractions)."""
    return {
        "zsl": {
            "ratio": ratio,
            "hrnn_attention": _cell(zsl, "hrnn_attention", ratio),
            "pooled_krr": _cell(zsl, "pooled_krr", ratio),
            "chance": zsl["datasets"][DATASET]["chance"][ratio]["top1"],
        },
        "analogy": {"count": analogy["count"], "accuracy": analogy["accuracy"], "chance": analogy["chance"],
                    "scores": analogy["scores"]},
        "wordnet": {"spearman": wordnet["spearman_by"]["action2vec"], "spearman_by": wordnet["spearman_by"],
                    "n_classes": wordnet["n_classes"]},
    }


def _write_report(out: Path, headline: dict[str, Any], seconds: dict[str, float], cfg: DemoConfig,
                  n_videos: int) -> dict[str, Path]:
    """The report of the run folder, with the headline numbers merged into report.json."""
    import json

    from action2vec.io import write_json
    from action2vec.reports.report import build_report

    paths = build_report(out, title="Action2Vec demo on the toy actions")
    report = json.loads(paths["json"].read_text())
    for key, value in headline.items():
        report[key] = {**(report.get(key) or {}), **value}
    report["demo"] = {"seconds": seconds, "videos": n_videos, "config": to_dict(cfg)}
    write_json(report, paths["json"])
    return paths


def _percent(value: float | None) -> str:
    return "-" if value is None or value != value else f"{100 * value:.1f} %"


def headline_table(headline: dict[str, Any]) -> str:
    """The headline numbers as a few plain-text lines."""
    z = headline["zsl"]
    a2v, krr = z["hrnn_attention"], z["pooled_krr"]
    a, w = headline["analogy"], headline["wordnet"]
    n = a2v.get("splits", 1)
    score = {(s["vectors"].split(",")[0] + ("/split" if "split" in s["vectors"] else ""), s["subset"],
              s["exclude_query"]): s for s in a["scores"]}

    def reading(exclude: bool) -> str:
        text, split, between = (score[(*key, exclude)] for key in (("text", ""), ("action2vec/split", ""),
                                                                 ("action2vec/split", "between its unseen classes")))
        return (f"text vectors alone {_percent(text['accuracy'])}; the {z['ratio']} split model "
                f"{_percent(split['accuracy'])}, {between['count']} tests between its unseen classes "
                f"{_percent(between['accuracy'])}")

    everything = score["action2vec", "", False]
    lines = [
        f"zero-shot top-1, {z['ratio']} classes, mean ± std over {n} split{'s' if n != 1 else ''}:",
        f"  Action2Vec (HRNN + attention)  {100 * a2v['top1']:5.1f} ± {100 * a2v['top1_std']:.1f} %",
        f"  pooled features + KRR          {100 * krr['top1']:5.1f} ± {100 * krr['top1_std']:.1f} %",
        f"  chance                         {100 * z['chance']:5.1f} %",
        f"analogy test: {a['count']} tests, query class left out: accuracy {_percent(a['accuracy'])} "
        f"(chance {_percent(a['chance'])})",
        f"  {reading(True)}",
        f"  every class a candidate (the paper's reading): {_percent(everything['accuracy'])} "
        f"(chance {_percent(everything['chance'])})",
        f"  {reading(False)}",
        "WordNet Spearman: " + ", ".join(f"{k} {v:.3f}" for k, v in w["spearman_by"].items() if v is not None),
    ]
    return "\n".join(lines)
