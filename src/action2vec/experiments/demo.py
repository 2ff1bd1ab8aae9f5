"""The demo: the whole pipeline on the built-in toy actions, from video files to a report, on a CPU.

Stages (each reuses what an earlier run of the same configuration finished):

1. ``generate``  toy videos of shapes doing actions (:mod:`action2vec.datasets.toy`)  -> OUT/toy/
2. ``extract``   clip features with the weight-free ``motion`` backbone                -> OUT/features.h5
3. ``labels``    label-text vectors of the "verb noun" class names (MiniLM by default)
4. ``zero-shot`` random class splits; per split, Action2Vec (HRNN with attention, dual loss) and the
                 pooled-feature KRR baseline trained on the seen classes, tested on the unseen ones
                 -> OUT/zsl/ (zsl.json, per-split results and training runs)
5. ``full``      Action2Vec trained on every class, as the paper does for its semantic tests -> OUT/full/
6. ``semantic``  WordNet correlation and vector-arithmetic analogies (both candidate readings) of its class
                 means, t-SNE and similarity pictures -> OUT/wordnet.json, OUT/analogy.json, OUT/figures/
7. ``report``    OUT/report.html, report.md, report.json

    result = run_demo(Path("demo"), demo_config("full"))
    result.zsl.cell("toy", "hrnn_attention", "50/50")["top1"].mean   # typed results: ZslSummary, ...
    print(headline_text(result.zsl, result.wordnet, result.analogy))
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from action2vec.config import option, save_config, to_dict
from action2vec.datasets.toy import ToyConfig, generate_toy_dataset
from action2vec.errors import ConfigError
from action2vec.evaluation.analogy import analogy_pairs
from action2vec.evaluation.krr import KRRConfig
from action2vec.evaluation.results import AnalogyResult, WordNetResult, ZslSummary
from action2vec.evaluation.splits import random_splits, save_splits
from action2vec.experiments.features import describe_features, store_class_means
from action2vec.experiments.semantic import (
    AnalogySettings,
    ClassVectors,
    WordNetSettings,
    analogy_experiment,
    class_vector_sets,
    embed_nouns,
    wordnet_experiment,
)
from action2vec.experiments.zero_shot import ZslConfig, ZslJob, plan_jobs, run_zsl
from action2vec.extras import modules_of, require_all
from action2vec.inference import Action2Vec
from action2vec.io import write_json
from action2vec.losses.dual import LossConfig
from action2vec.models.factory import ModelConfig, resolve_config
from action2vec.store import open_store
from action2vec.store.base import Store
from action2vec.text import LabelVectors, build_label_vectors, load_wordnet
from action2vec.text.embedders import embedder_modules
from action2vec.text.normalize import normalize_labels
from action2vec.training import fit
from action2vec.training.config import DataConfig, RunConfig, TrainConfig
from action2vec.video.backbones import create_backbone
from action2vec.video.config import ClipConfig, ComputeConfig, ExtractConfig
from action2vec.video.extract import extract_videos, read_video_list

__all__ = ["DemoConfig", "DemoResult", "demo_config", "run_demo", "STAGES"]

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
        model=ModelConfig(
            variant="hrnn_attention",
            preset="cpu",
            lstm1_hidden=64,
            lstm2_hidden=64,
            dropout=0.2,
            attention_dim=16,
            window=4,
            window_stride=4,
        ),
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
    run: RunConfig = field(
        default_factory=_train_defaults,
        metadata={"help": "Action2Vec training (run.data.text: the label-text embedder; minilm needs no download)"},
    )
    krr: KRRConfig = field(default_factory=KRRConfig, metadata={"help": "the pooled-feature KRR baseline"})
    ratio: str = option("50/50", "seen/unseen class ratio of the zero-shot splits", nonempty=True)
    splits: int = option(
        6,
        "random class splits (seeds 0..N-1); results are mean ± std over them, and the paired "
        "test against the baseline is over them (an exact test over 5 or fewer cannot reach p < 0.05)",
        ge=1,
    )
    workers: int = option(0, "parallel zero-shot jobs (0: as the cores allow at 2 threads each)", ge=0)
    threads: int = option(
        1,
        "torch threads (0: torch's default); the demo's models are small, so on a busy "
        "CPU more threads cost more than they give",
        ge=0,
    )


def demo_config(size: str = "full") -> DemoConfig:
    """``full``: 12 verbs x 5 nouns x 8 videos (the README figures); ``quick``: a small run for tests."""
    if size == "full":
        return DemoConfig()
    if size == "quick":
        base = DemoConfig()
        run = base.run
        return replace(
            base,
            toy=ToyConfig(
                verbs=["slide", "spin", "grow", "fall", "appear", "vanish"],
                nouns=["ball", "box", "star"],
                videos_per_class=4,
                min_seconds=2.0,
                max_seconds=3.5,
            ),
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
    zsl: ZslSummary
    wordnet: WordNetResult
    analogy: AnalogyResult
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


def demo_modules(cfg: DemoConfig) -> list[str]:
    """The optional modules the demo needs: PyAV (it writes and decodes videos), the label texts' embedder,
    nltk (WordNet) and the report's matplotlib, jinja2 and scikit-learn."""
    return ["av", *embedder_modules(cfg.run.data.text), "nltk", *modules_of("report")]


def run_demo(out_dir: str | Path, cfg: DemoConfig | None = None) -> DemoResult:
    """Run (or resume) every stage into ``out_dir``; returns the report paths and the typed results."""
    cfg = cfg or DemoConfig()
    resolve_config(cfg.run.model, prefix="run.model")  # before any stage: refused with one line, nothing written
    require_all(demo_modules(cfg), "the demo")  # videos, label texts, WordNet and the report: all extras named
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _torch_threads(cfg.threads):
        result = _run_stages(out, cfg)
    save_config(cfg, out / "demo_config.yaml")  # after the stages accepted it (a changed config is refused)
    return result


def _run_stages(out: Path, cfg: DemoConfig) -> DemoResult:
    """The seven stages in order; each reuses what a previous run of the same configuration finished."""
    seconds: dict[str, float] = {}
    with _stage(1, "generate", seconds):
        toy = generate_toy_dataset(out / "toy", cfg.toy)
        log.info("%d videos of %d classes in %s", len(toy.videos), len(toy.classes), toy.root)

    store_path = out / "features.h5"
    with _stage(2, "extract", seconds):
        backbone = create_backbone("motion")
        summary = extract_videos(
            read_video_list(toy.list_path), store_path, backbone, ExtractConfig(video=cfg.video, compute=cfg.compute)
        )
        if summary.failed:
            log.warning("%d videos could not be read: %s", summary.failed, summary.failures)
    store = open_store(store_path)
    classes = store.classes

    with _stage(3, "labels", seconds):
        wordnet = load_wordnet()
        vectors = build_label_vectors(
            classes, cfg.run.data.text, overrides=toy.overrides_path, wordnet=wordnet, prompts=cfg.run.data.prompts
        )

    with _stage(4, "zero-shot", seconds), _quiet_lightning():
        splits = random_splits(classes, [cfg.ratio], range(cfg.splits))
        save_splits(splits, out / "zsl" / "splits" / f"{DATASET}.json")
        zsl_cfg = ZslConfig(
            ratios=[cfg.ratio],
            seeds=cfg.splits,
            variants=["hrnn_attention", "pooled_krr"],
            workers=cfg.workers,
            krr=cfg.krr,
        )
        jobs = plan_jobs(DATASET, store_path, splits, vectors, zsl_cfg, cfg.run, out / "zsl")
        zsl = run_zsl(jobs, out / "zsl", workers=cfg.workers, figures=out / "figures")

    with _stage(5, "full", seconds), _quiet_lightning():
        model_dir = _train_full(out / "full", cfg.run, store, vectors)

    with _stage(6, "semantic", seconds):
        labels = normalize_labels(classes, toy.overrides_path, wordnet=wordnet)
        wordnet_result, analogy_result = _semantic_tests(
            out, store, classes, labels, vectors, model_dir, wordnet, cfg.run.data.text, split_job=jobs[0]
        )

    with _stage(7, "report", seconds):
        extra = {"demo": {"seconds": seconds, "videos": len(store), "config": to_dict(cfg)}}
        from action2vec.reports.report import build_report

        report = build_report(out, title="Action2Vec demo on the toy actions", extra=extra)
    return DemoResult(out, report, zsl, wordnet_result, analogy_result, seconds)


def _train_full(run_dir: Path, run: RunConfig, store: Store, vectors: LabelVectors) -> Path:
    """Action2Vec on every class (the model of the semantic tests). fit() reuses a finished run made from the same
    store content, videos, label vectors and settings (its provenance record), and refuses one made otherwise."""
    return fit(run, run_dir, store=store, label_vectors=vectors).model_dir


def _semantic_tests(
    out: Path,
    store: Store,
    classes: list[str],
    labels: list[Any],
    vectors: LabelVectors,
    model_dir: Path,
    wordnet: Any,
    text: str,
    split_job: ZslJob,
) -> tuple[WordNetResult, AnalogyResult]:
    """WordNet and analogy tests on the class means of the full model, with their pictures.

    The analogy test is also scored on the text vectors and on the class means of the first zero-shot
    split's model, which never saw the unseen classes (all tests, and those between its unseen classes).
    """
    means = class_vector_sets(classes, store=store, model=Action2Vec.load(model_dir), text_vectors=vectors)
    wn = wordnet_experiment(
        classes,
        labels,
        wordnet,
        means,
        WordNetSettings(),
        text=text,
        features=describe_features(store.meta, store.dim, pooled=True),
        figures=out / "figures",
    )
    write_json(wn.to_json(), out / "wordnet.json")

    pairs = analogy_pairs(labels)
    unseen = {classes.index(c) for c in split_job.split.unseen}
    split_model = ClassVectors(
        f"action2vec, model of split {split_job.split.name}",
        store_class_means(store, classes, Action2Vec.load(split_job.folder / "train" / "model")),
    )
    others = [
        ClassVectors("text", means["text"]),
        split_model,
        replace(
            split_model,
            subset="between its unseen classes",
            pairs=[p for p in pairs if p.a in unseen and p.b in unseen],
        ),
    ]
    analogy = analogy_experiment(
        classes,
        pairs,
        embed_nouns(pairs, text),
        ClassVectors("action2vec", means["action2vec"]),
        AnalogySettings(),
        others,
        text=text,
        figures=out / "figures",
    )
    write_json(analogy.to_json(), out / "analogy.json")
    return wn, analogy
