"""The zero-shot protocol runner (SPEC step 7, paper Tables 1–2).

For each class split and each method: train on the seen classes' videos only (an Action2Vec variant
through :func:`action2vec.training.fit`, or the pooled-feature KRR baseline), embed the unseen classes'
videos, classify them by cosine against the unseen classes' label vectors, and score top-1, top-5 and
mean per-class accuracy; with held-out seen-class videos (``seen_holdout``) also generalised zero-shot
accuracy (seen, unseen, harmonic mean) over seen ∪ unseen classes. Results are averaged over splits.

PCA never sees a split's unseen classes: given a raw store and ``pca_dim``, each split fits its own PCA on
its seen classes' training videos (cached as ``OUT/runs/<dataset>/<split>/pca<dim>.safetensors``) and the
Action2Vec variants read the store through it; the pooled KRR baseline reads the features as stored (the
raw backbone features, as the paper's "Pooled C3D fc7"). A store whose own PCA was fitted on videos of a
split's unseen classes (or on videos nobody recorded) is refused unless ``transductive`` is set, which
labels every result transductive (and lets the methods use the unlabelled test videos; docs/evaluation.md).

Output folder::

    OUT/splits/<dataset>.json                         the splits used (reload with --splits)
    OUT/runs/<dataset>/<split>/pca<dim>.safetensors   the split's PCA (with pca_dim on a raw store)
    OUT/runs/<dataset>/<split>/<variant>/result.json  one finished (split, method): ZslSplitResult; reused on rerun
    OUT/runs/<dataset>/<split>/<variant>/train/       the training run folder (fit() resumes it)
    OUT/zsl.json                                      ZslSummary: mean ± std per dataset, method, ratio, metric
    OUT/zsl_table.md                                  the table in the paper's layout
    FIGURES/confusion_<dataset>_<variant>.png         the first split's unseen-class confusion (when asked)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from action2vec.config import apply_overrides, from_dict, option, to_dict
from action2vec.errors import ConfigError, DataError
from action2vec.evaluation.krr import KRRConfig, LaplacianKRR, stratified_subsample
from action2vec.evaluation.metrics import chance_levels, gzsl_metrics
from action2vec.evaluation.results import DataSource, PcaFit, ZslSplitResult, ZslSummary
from action2vec.evaluation.splits import ClassSplit, name_overlap, overlap_filter
from action2vec.evaluation.zero_shot import cosine_topk, zero_shot_evaluate
from action2vec.experiments.features import describe_features, pooled_features
from action2vec.experiments.pooled_match import MATCH_VARIANT, check_same_model, match_embed
from action2vec.extras import can_draw
from action2vec.inference import Action2Vec
from action2vec.io import json_safe, read_json, write_json
from action2vec.linalg import l2_normalize
from action2vec.models import resolve_config
from action2vec.provenance import Input, Provenance, decide, keys_digest, sketch, split_settings
from action2vec.signals import Stopped
from action2vec.store import open_store, store_digest
from action2vec.store.base import Store
from action2vec.store.pca import PCA, ProjectedStore, fit_pca
from action2vec.text.vectors import LabelVectors
from action2vec.training import fit
from action2vec.training.config import RunConfig, flatten
from action2vec.training.data import stratified_holdout
from action2vec.training.manifold import ManifoldConfig
from action2vec.variants import METHODS, method, title

log = logging.getLogger(__name__)

__all__ = [
    "PRETRAINING_DATA",
    "ZslConfig",
    "ZslJob",
    "SplitVideos",
    "SplitEmbedding",
    "check_store_pca",
    "plan_jobs",
    "select_split_videos",
    "split_pca",
    "variant_run_config",
    "embed_split",
    "score_split",
    "run_split_variant",
    "run_zsl",
    "record_inputs",
    "write_confusion_figures",
    "label_vectors_digest",
    "ZslRun",
    "check_compare",
    "store_splits",
    "plan_zero_shot",
    "run_zero_shot",
]

# What each backbone's weights were trained on: the test classes of a zero-shot split that are also
# classes of that data set are not really unseen by the features (warned about by the zsl command).
PRETRAINING_DATA = {
    "c3d": "Sports-1M",
    "r3d_18": "Kinetics-400",
    "r2plus1d_18": "Kinetics-400",
    "s3d": "Kinetics-400",
    "mvit_v1_b": "Kinetics-400",
    "mvit_v2_s": "Kinetics-400",
}


@dataclass
class ZslConfig:
    """Settings of the zero-shot protocol."""

    ratios: list[str] = option(
        ["50/50", "80/20", "90/10"], "seen/unseen class ratios of the random splits", nonempty=True
    )
    seeds: int = option(10, "random splits per ratio (seeds 0..N-1)", ge=1)
    variants: list[str] = option(
        ["hrnn_attention", "pooled_krr"], f"variants to run: {', '.join(METHODS)}", nonempty=True
    )
    overlap_threshold: float = option(
        0.0,
        "drop seen classes whose label vector has cosine >= this with a test class (0: off; E2E uses 0.95)",
        ge=0,
        le=1,
    )
    seen_holdout: float = option(
        0.0, "fraction of seen-class videos held out from training: validation and GZSL seen-class test", ge=0, lt=1
    )
    workers: int = option(0, "parallel split processes (0: as many as the cores allow at 2 threads each)", ge=0)
    top_k: list[int] = option([1, 5], "top-k accuracies to report", ge=1, nonempty=True)
    pca_dim: int = option(
        0,
        "fit PCA to this many dimensions per split, on the split's seen-class training videos "
        "(raw stores only; 0: use the features as stored)",
        ge=0,
    )
    transductive: bool = option(
        False,
        "use the unlabelled test videos (their features, never their labels): in the "
        "KRR graph Laplacian, in the manifold term of Action2Vec training, and accept a store "
        "whose PCA saw them; every result is labelled transductive",
    )
    krr: KRRConfig = field(default_factory=KRRConfig)
    manifold: ManifoldConfig = field(default_factory=ManifoldConfig)


@dataclass
class ZslJob:
    """One (dataset, split, method) to train and evaluate."""

    dataset: str
    split: ClassSplit
    variant: str
    out_dir: Path
    store_path: str
    label_vectors: LabelVectors  # every class of the split, with the embedder that made them
    zsl: ZslConfig
    train_cfg: dict[str, Any]  # RunConfig as a dict (variant overrides are applied here)
    pretrain_classes: list[str] = field(default_factory=list)
    store_id: str = ""  # store_digest of the store: its content, wherever it lies (plan_jobs fills it in)

    @property
    def folder(self) -> Path:
        return self.out_dir / "runs" / self.dataset / self.split.name / self.variant

    def provenance(self) -> Provenance:
        """Everything that decides the result: the store's content and the label vectors (names, embedder,
        prompts, oov exactly; the vectors by a sketch within float noise), the split, the method and its settings.
        Training settings declared execution-only (``option(..., execution=True)``) are kept apart."""
        settings: dict[str, Any] = {
            "seen": sorted(self.split.seen),
            "unseen": sorted(self.split.unseen),
            "variant": self.variant,
            "overlap": self.zsl.overlap_threshold,
            "holdout": self.zsl.seen_holdout,
            "top_k": self.zsl.top_k,
            "seed": self.split.seed,
        }
        execution: dict[str, Any] = {}
        if method(self.variant).overrides is not None:
            train, execution = split_settings(from_dict(RunConfig, self.train_cfg), skip={"data.store"})
            settings.update({f"train.{k}": v for k, v in train.items()})
        else:
            settings.update({f"krr.{k}": v for k, v in flatten(to_dict(self.zsl.krr)).items()})
        if self.zsl.pca_dim:  # settings enter only when used
            settings["pca_dim"] = self.zsl.pca_dim
        if self.zsl.transductive:
            settings.update({f"transductive.{k}": v for k, v in flatten(to_dict(self.zsl.manifold)).items()})
        inputs = {
            "store": Input(self.store_id, self.store_path),
            "label vectors": Input(label_vectors_digest(self.label_vectors), self.label_vectors.text),
        }
        return Provenance(
            "zsl result", inputs, settings, execution, {"label vectors": sketch(self.label_vectors.vectors)}
        )

    def inputs(self) -> dict[str, Any]:
        """The JSON form of :meth:`provenance` (``ZslSplitResult.inputs``)."""
        return self.provenance().to_json()

    def fingerprint(self) -> str:
        """The digest of what :meth:`provenance` holds exactly (not the label vectors' sketch)."""
        return self.provenance().digest()

    def reuse(self, done: ZslSplitResult) -> str:
        """ "" when a finished result was made from this job's inputs (label vectors equal up to float noise: a
        sentence encoder's vectors move by ~1e-7 with what else is in its batch), else the first input that
        differs (a result from before provenance records: refused, it names none)."""
        try:
            recorded = Provenance.from_json(done.inputs) if done.inputs else None
        except DataError:
            recorded = None
        decision = decide(recorded, self.provenance(), on_change="refuse", unrecorded="refuse")
        return decision.reason

    def same_inputs(self, done: ZslSplitResult) -> bool:
        """Whether a finished result was made from this job's inputs (see :meth:`reuse`)."""
        return not self.reuse(done)


def label_vectors_digest(label_vectors: LabelVectors) -> str:
    """What made the label vectors, exactly: their names, embedder, prompts and oov policy (the vectors themselves
    enter through a sketch, compared within a tolerance: :func:`action2vec.provenance.sketch`)."""
    doc = [label_vectors.names, label_vectors.text, list(label_vectors.prompts), label_vectors.oov]
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:16]


def check_store_pca(meta: dict[str, Any], store_path: str | Path, dim: int, split: ClassSplit, zsl: ZslConfig) -> None:
    """Refuse (before any work) a store whose PCA may have seen the split's unseen classes, unless transductive.

    ``meta``: the store's metadata; ``dim``: its feature dimension. ``pca_dim`` needs a raw store.
    """
    if not meta.get("pca"):
        if zsl.pca_dim > dim:
            raise ConfigError(f"config key 'zsl.pca_dim': {zsl.pca_dim} exceeds the {dim}-d features of {store_path}")
        return
    if zsl.pca_dim:
        raise ConfigError(
            f"config key 'zsl.pca_dim': {store_path} is already PCA-reduced (pca={meta['pca']}); give the "
            "raw store so each split fits its PCA on its seen classes"
        )
    if zsl.transductive:
        return
    fit_classes = meta.get("pca_fit_classes")
    if fit_classes is None:
        raise DataError(
            f"{store_path}: nobody recorded which videos its PCA was fitted on, so split {split.name} may have "
            "seen its unseen classes; give the raw store with --zsl.pca_dim N (PCA per split on seen classes), "
            "or --zsl.transductive true to label every result transductive"
        )
    leaked = sorted(set(split.unseen) & set(fit_classes))
    if leaked:
        raise DataError(
            f"{store_path}: its PCA was fitted on videos of {len(leaked)} classes that split {split.name} tests "
            f"as unseen (e.g. {leaked[:3]}); give the raw store with --zsl.pca_dim N (PCA per split on seen "
            "classes), or --zsl.transductive true to label every result transductive"
        )


@dataclass
class SplitVideos:
    """The store positions of one split's videos, after overlap filtering and the seen-class hold-out."""

    seen: list[str]  # training classes (present in the store, not dropped by the overlap filter)
    unseen: list[str]  # test classes
    train_pos: np.ndarray  # (N_train,) seen-class videos trained on
    held_pos: np.ndarray  # (N_held,) held-out seen-class videos (validation, GZSL seen side)
    unseen_pos: np.ndarray  # (N_unseen,) test videos of the unseen classes
    dropped: dict[str, tuple[str, float]] = field(default_factory=dict)  # by the overlap filter
    pretrain_overlap: list[str] = field(default_factory=list)

    @property
    def test_pos(self) -> np.ndarray:
        """Every test video: unseen classes first, then the held-out seen-class videos. (N_test,)"""
        return np.concatenate([self.unseen_pos, self.held_pos])

    @property
    def unlabeled_pos(self) -> np.ndarray:
        """The test videos in store order: what a transductive method may read (features only). (N_test,)"""
        return np.sort(self.test_pos)


def select_split_videos(job: ZslJob, store: Store) -> SplitVideos:
    """Which videos the split trains on and tests on (seen classes only for training)."""
    present = set(store.classes)
    seen = [c for c in job.split.seen if c in present]
    unseen = [c for c in job.split.unseen if c in present]
    if not seen or not unseen:
        raise DataError(f"{job.store_path}: split {job.split.name} has no videos of its seen or of its unseen classes")
    dropped: dict[str, tuple[str, float]] = {}
    if job.zsl.overlap_threshold > 0:
        vecs = dict(zip(job.label_vectors.names, job.label_vectors.vectors))  # (E,) per class
        seen, dropped = overlap_filter(seen, unseen, vecs, job.zsl.overlap_threshold)
        if dropped:
            log.info("%s: dropped %d seen classes too close to test classes", job.split.name, len(dropped))
    pretrain_overlap = name_overlap(unseen, job.pretrain_classes) if job.pretrain_classes else []
    if pretrain_overlap:
        log.warning(
            "%s: %d test classes are also backbone pretraining classes, e.g. %s",
            job.split.name,
            len(pretrain_overlap),
            pretrain_overlap[:3],
        )
    seen_pos = store.indices_of_classes(seen)
    tr, ho = stratified_holdout([store.labels[i] for i in seen_pos], job.zsl.seen_holdout, job.split.seed or 0)
    return SplitVideos(
        seen, unseen, seen_pos[tr], seen_pos[ho], store.indices_of_classes(unseen), dropped, pretrain_overlap
    )


@dataclass
class SplitEmbedding:
    """A method's test-video embeddings for one split, with what it read."""

    embeddings: np.ndarray  # (N_test, E), rows in the order of SplitVideos.test_pos
    pca: PcaFit
    features: str  # e.g. "pooled c3d fc7 (4096-d)"


def split_pca(job: ZslJob, store: Store, train_pos: np.ndarray) -> tuple[PcaFit, Store]:
    """What the split's PCA is fitted on and the store the Action2Vec variants read: the raw store through a
    PCA of the split's training videos when ``zsl.pca_dim`` is set (cached beside the split's methods,
    refitted when the videos differ), else the store as it is."""
    if job.zsl.pca_dim:
        pca = _seen_classes_pca(job, store, train_pos)
        view = ProjectedStore(store, pca, fitted_on=f"training videos of the seen classes of split {job.split.name}")
        return PcaFit("seen", int(len(train_pos))), view
    return store_pca_fit(store), store


def store_pca_fit(store: Store) -> PcaFit:
    """What the store's own PCA was fitted on (``videos`` None when the store did not record it)."""
    if store.meta.get("pca"):
        return PcaFit("store", store.meta.get("pca_fit_videos"))
    return PcaFit("none", 0)


def _seen_classes_pca(job: ZslJob, store: Store, train_pos: np.ndarray) -> PCA:
    """The PCA of the split's training videos, from its cache file when the same videos made it."""
    from safetensors.numpy import load_file, save_file

    path = job.folder.parent / f"pca{job.zsl.pca_dim}.safetensors"
    record = Provenance(
        "pca cache",
        {
            "store": Input(job.store_id or store_digest(store), job.store_path),
            "training videos": Input(keys_digest(store.keys[i] for i in train_pos)),
        },
        {"pca_dim": job.zsl.pca_dim},
    )
    if path.is_file():
        from safetensors import safe_open

        with safe_open(str(path), "numpy") as fh:
            text = (fh.metadata() or {}).get("provenance")
        try:  # a cache from before provenance records (or a damaged one) is fitted again
            recorded = Provenance.from_json(json.loads(text), str(path)) if text else None
        except (DataError, ValueError):
            recorded = None
        decision = decide(recorded, record, on_change="rebuild", unrecorded="rebuild")
        if decision.same:
            arrays = load_file(str(path))
            return PCA(arrays["mean"], arrays["components"], arrays["explained_variance"])
        log.info("%s: fitting the PCA again: %s", path, decision.reason)
    pca = fit_pca(store, train_pos, job.zsl.pca_dim)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(
        {k: np.ascontiguousarray(v) for k, v in pca.arrays().items()},
        str(tmp),
        metadata={"provenance": json.dumps(record.to_json())},
    )
    tmp.replace(path)  # parallel variants of one split write the same arrays; the last rename wins
    return pca


def embed_split(job: ZslJob, store: Store, videos: SplitVideos) -> SplitEmbedding:
    """Train the job's method on the split's training videos and embed its test videos."""
    if job.variant == MATCH_VARIANT:  # no training: each test video's mean step feature, as stored
        emb = match_embed(store, videos.test_pos)
        return SplitEmbedding(emb, store_pca_fit(store), describe_features(store.meta, store.dim, pooled=True))
    if method(job.variant).overrides is None:  # pooled features as stored: before any per-split PCA
        emb = _krr_embed(job, store, videos)
        return SplitEmbedding(emb, store_pca_fit(store), describe_features(store.meta, store.dim, pooled=True))
    pca, view = split_pca(job, store, videos.train_pos)
    emb = _a2v_embed(job, view, videos)
    return SplitEmbedding(emb, pca, describe_features(view.meta, view.dim, pooled=False))


def _krr_embed(job: ZslJob, store: Store, videos: SplitVideos) -> np.ndarray:
    """Fit the pooled-feature KRR on seen videos (and, transductive, the unlabelled test videos in its
    graph); map the test videos into label space. -> (N_test, E)."""
    cfg = job.zsl.krr
    train_pos = videos.train_pos
    labels = np.array([store.labels[i] for i in train_pos])
    keep = train_pos[stratified_subsample(labels, cfg.max_train, cfg.seed)]
    if len(keep) < len(train_pos):
        log.info("KRR: %d of %d training videos (krr.max_train)", len(keep), len(train_pos))
    x = l2_normalize(pooled_features(store, keep))
    y = l2_normalize(job.label_vectors.lookup([store.labels[i] for i in keep]))
    unlabeled = None
    if job.zsl.transductive:
        pool = videos.unlabeled_pos
        if len(pool) > cfg.max_train:
            pool = np.sort(np.random.default_rng(cfg.seed).choice(pool, cfg.max_train, replace=False))
        unlabeled = l2_normalize(pooled_features(store, pool))
        log.info("KRR (transductive): %d unlabelled test videos in the graph", len(pool))
    model = LaplacianKRR(cfg).fit(x, y, unlabeled=unlabeled)
    return model.predict(l2_normalize(pooled_features(store, videos.test_pos)))


def _a2v_embed(job: ZslJob, store: Store, videos: SplitVideos) -> np.ndarray:
    """Train the variant on seen videos with fit() (transductive: with the manifold term on the unlabelled
    test videos); embed the test videos with the exported model. -> (N_test, E)."""
    cfg = variant_run_config(job.train_cfg, job.variant)
    seen_classes = sorted({store.labels[i] for i in videos.train_pos})
    label_vectors = job.label_vectors.subset(seen_classes)  # keeps the embedder, which the model folder records
    unlabeled = [store.keys[i] for i in videos.unlabeled_pos] if job.zsl.transductive else None
    result = fit(
        cfg,
        job.folder / "train",
        store=store,
        label_vectors=label_vectors,
        train_keys=[store.keys[i] for i in videos.train_pos],
        val_keys=[store.keys[i] for i in videos.held_pos],
        unlabeled_keys=unlabeled,
        manifold=job.zsl.manifold,
    )
    return Action2Vec.load(result.model_dir).encode_store(store, videos.test_pos)


def variant_run_config(train_cfg: dict[str, Any], variant: str) -> RunConfig:
    """The training config of an Action2Vec variant: the base config with the variant's overrides, and no class
    list (the split decides the training classes: a class list in the base config must not widen them)."""
    overrides = list(method(variant).overrides or []) + ["data.classes=null", "data.classes_file="]
    return from_dict(RunConfig, apply_overrides(train_cfg, overrides))


def score_split(job: ZslJob, store: Store, videos: SplitVideos, emb: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Zero-shot metrics of the test embeddings (GZSL too when seen-class videos were held out) and the
    unseen-class confusion matrix (C_unseen, C_unseen)."""
    n_unseen = len(videos.unseen_pos)
    class_idx = {c: i for i, c in enumerate(videos.unseen)}
    labels = np.array([class_idx[store.labels[i]] for i in videos.unseen_pos])
    zs = zero_shot_evaluate(
        emb[:n_unseen], labels, job.label_vectors.lookup(videos.unseen), ks=tuple(job.zsl.top_k), with_confusion=True
    )
    metrics = {k: v for k, v in zs.items() if k not in ("predicted", "confusion")}
    if len(videos.held_pos):
        every = videos.seen + videos.unseen
        all_idx = {c: i for i, c in enumerate(every)}
        all_labels = np.array([all_idx[store.labels[i]] for i in videos.test_pos])
        ranked, _ = cosine_topk(emb, job.label_vectors.lookup(every), k=1)
        g = gzsl_metrics(ranked[:, 0], all_labels, np.arange(len(videos.seen)), np.arange(len(videos.seen), len(every)))
        metrics.update({f"gzsl_{k}": v for k, v in g.items()})
    return metrics, zs["confusion"]


def run_split_variant(job: ZslJob) -> ZslSplitResult:
    """Train and evaluate one (split, method); reuse its result.json when it was already finished."""
    result_path = job.folder / "result.json"
    record = job.provenance()
    if result_path.is_file():
        done = ZslSplitResult.from_json(read_json(result_path, "zero-shot split result"), str(result_path))
        why = job.reuse(done)
        if not why:
            log.info("%s/%s/%s: finished before, reusing %s", job.dataset, job.split.name, job.variant, result_path)
            return done
        raise ConfigError(f"{result_path} holds a result of another configuration: {why}; use another output folder")
    method(job.variant)  # ConfigError for an unknown identifier

    store = open_store(job.store_path)
    videos = select_split_videos(job, store)
    embedded = embed_split(job, store, videos)
    metrics, confusion = score_split(job, store, videos, embedded.embeddings)
    n_all = len(videos.seen) + len(videos.unseen) if len(videos.held_pos) else None
    result = ZslSplitResult(
        dataset=job.dataset,
        split=job.split.name,
        ratio=job.split.ratio,
        seed=job.split.seed,
        variant=job.variant,
        metrics=metrics,
        chance=chance_levels(len(videos.unseen), tuple(job.zsl.top_k), n_all),
        seen_classes=videos.seen,
        unseen_classes=videos.unseen,
        confusion=confusion,
        n_train_videos=int(len(videos.train_pos)),
        dropped_by_overlap=videos.dropped,
        pretrain_overlap=videos.pretrain_overlap,
        pca=embedded.pca,
        features=embedded.features,
        transductive=job.zsl.transductive,
        fingerprint=record.digest(),
        inputs=record.to_json(),
    )
    write_json(result.to_json(), result_path)
    log.info("%s/%s/%s: top1 %.4f", job.dataset, job.split.name, job.variant, metrics["top1"])
    return result


def plan_jobs(
    dataset: str,
    store_path: str | Path,
    splits: Sequence[ClassSplit],
    label_vectors: LabelVectors,
    zsl: ZslConfig,
    train_cfg: RunConfig | dict[str, Any],
    out_dir: str | Path,
    pretrain_classes: Sequence[str] = (),
) -> list[ZslJob]:
    """One job per (split, method) of one dataset, after the checks that need no training: known methods,
    each Action2Vec variant's model settings, and a store PCA that saw no split's unseen classes (unless
    transductive). ``label_vectors``: every class;
    ``train_cfg``: the base training config (or its dict)."""
    unknown = [v for v in zsl.variants if v not in METHODS]
    if unknown:
        raise ConfigError(f"config key 'zsl.variants': unknown variant(s) {unknown} (known: {', '.join(METHODS)})")
    base = train_cfg if isinstance(train_cfg, dict) else to_dict(train_cfg)
    for variant in zsl.variants:  # the model settings, before any split writes anything
        if method(variant).overrides is not None:
            resolve_config(variant_run_config(base, variant).model)
    store = open_store(store_path)
    if MATCH_VARIANT in zsl.variants:  # one model's two towers, or refused before any split runs
        check_same_model(store.meta, label_vectors.text, store_path)
    for split in splits:
        check_store_pca(store.meta, store_path, store.dim, split, zsl)
    store_id = store_digest(store)
    return [
        ZslJob(
            dataset=dataset,
            split=split,
            variant=variant,
            out_dir=Path(out_dir),
            store_path=str(store_path),
            label_vectors=label_vectors,
            zsl=zsl,
            train_cfg=base,
            pretrain_classes=list(pretrain_classes),
            store_id=store_id,
        )
        for split in splits
        for variant in zsl.variants
    ]


def default_workers(n_jobs: int, threads_per_job: int = 2) -> int:
    """Parallel processes the cores allow (at ``threads_per_job`` threads each), at most ``n_jobs``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(n_jobs, cores // threads_per_job))


_STOP: Any = None  # in a pool worker: the event the main process sets when it is stopped


def _worker_init(threads: int, stop: Any) -> None:
    import torch

    global _STOP
    torch.set_num_threads(threads)
    _STOP = stop


def _run_in_worker(job: ZslJob) -> ZslSplitResult:
    """A job in a pool worker; none starts once the main process was stopped (the pool hands a worker one job
    more than it runs, which cancelling cannot take back)."""
    if _STOP is not None and _STOP.is_set():
        raise Stopped(signal.SIGTERM)
    return run_split_variant(job)


def _run_jobs(jobs: Sequence[ZslJob], workers: int) -> list[ZslSplitResult]:
    """Every job's result, in job order (in ``workers`` spawned processes when more than one)."""
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        threads = max(1, (os.cpu_count() or 1) // workers)
        log.info("running %d (split, method) jobs in %d processes", len(jobs), workers)
        context = mp.get_context("spawn")
        stop_jobs = context.Event()
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_worker_init, initargs=(threads, stop_jobs)
        ) as pool:
            try:
                return list(pool.map(_run_in_worker, jobs))
            except Stopped as stop:
                # a signal sent to this process alone: the running jobs stop after their batch (each keeps a
                # checkpoint) instead of training to the end, and no other job starts
                stop_jobs.set()
                for child in mp.active_children():
                    if child.pid is None:  # not started
                        continue
                    try:
                        os.kill(child.pid, stop.signum)
                    except ProcessLookupError:  # it ended in between
                        pass
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    return [run_split_variant(job) for job in jobs]


def run_zsl(
    jobs: Sequence[ZslJob],
    out_dir: str | Path,
    workers: int = 0,
    figures: str | Path | None = None,
    compare: Sequence[tuple[str, str]] = (),
) -> ZslSummary:
    """Run every job, then write zsl.json and zsl_table.md into ``out_dir`` (and the confusion figures into
    ``figures`` when given). The summary holds the paired comparisons of each method against ``pooled_krr`` and
    of the pairs in ``compare`` (:func:`action2vec.evaluation.paired.zsl_comparisons`)."""
    from action2vec.evaluation.paired import zsl_comparisons
    from action2vec.reports.tables import table_markdown, zsl_table

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = _run_jobs(jobs, workers or default_workers(len(jobs)))
    summary = ZslSummary.from_splits(results)
    record_inputs(summary, jobs)
    summary.comparisons = zsl_comparisons(summary, compare)
    write_json(summary.to_json(), out_dir / "zsl.json")
    (out_dir / "zsl_table.md").write_text(table_markdown(zsl_table(summary)) + _comparisons_markdown(summary))
    if figures is not None:
        write_confusion_figures(results, Path(figures))
    return summary


def _comparisons_markdown(summary: ZslSummary) -> str:
    """The paired-comparison table under the zero-shot table ("" when there is none)."""
    from action2vec.reports.tables import comparison_table, table_markdown

    table = comparison_table(summary)
    return "\n" + table_markdown(table) if table.rows else ""


STORE_FACTS = ("backbone", "layer", "dim", "pca", "pretrained", "random_weights", "clip_len", "fps", "stride", "steps")


def record_inputs(summary: ZslSummary, jobs: Sequence[ZslJob]) -> None:
    """Write into ``summary`` what it ran on (for the report's "data and settings"): each data set's store
    (path, videos, how its features were made), the classes its splits drew from, the embedder and prompts of
    its label vectors, and the protocol's settings."""
    for name, ds in summary.datasets.items():
        mine = [job for job in jobs if job.dataset == name]
        if not mine:
            continue
        store = open_store(mine[0].store_path)
        classes = {c for job in mine for c in (*job.split.seen, *job.split.unseen)}
        lv = mine[0].label_vectors
        ds.source = DataSource(
            str(Path(mine[0].store_path).resolve()),
            len(store),
            len(classes),
            json_safe({k: store.meta[k] for k in STORE_FACTS if k in store.meta}),
            lv.text,
            list(lv.prompts),
        )
    if jobs:
        summary.config = to_dict(jobs[0].zsl)


def write_confusion_figures(results: Sequence[ZslSplitResult], folder: Path) -> list[Path]:
    """The unseen-class confusion matrix of the first split of each (data set, method), as
    ``folder/confusion_<dataset>_<method>.png`` (and .svg); none without the 'report' extra (said once)."""
    if not can_draw("the confusion matrices"):
        return []
    from action2vec.reports.plots import plot_confusion, save_figure

    written, done = [], set()
    for r in results:
        if (r.dataset, r.variant) in done:
            continue
        done.add((r.dataset, r.variant))
        fig = plot_confusion(
            r.confusion,
            r.unseen_classes,
            title=f"{r.dataset} {r.split}, {title(r.variant, r.transductive)}: unseen-class confusion",
        )
        written += save_figure(fig, folder / f"confusion_{r.dataset}_{r.variant}")
    return written


@dataclass
class ZslRun:
    """Everything one run of the zero-shot protocol reads: what ``action2vec zsl`` builds from its options.

    ``stores``: data set name -> feature store (one table column each, in this order); ``splits``: data set name
    -> split file (JSON written by a run, or an ER-ZSAR folder), the others draw random splits from ``zsl``;
    ``classes``: use only these classes (None: every class of each store); ``pretrain_classes``: the backbone's
    pretraining classes (test classes among them are warned about); ``compare``: (A, B) variant pairs to compare
    besides each variant against pooled_krr; ``figures``: also draw the confusion figures into ``out/figures``.
    """

    stores: dict[str, str]
    out: Path
    zsl: ZslConfig = field(default_factory=ZslConfig)
    train: RunConfig = field(default_factory=RunConfig)
    splits: dict[str, str] = field(default_factory=dict)
    classes: list[str] | None = None
    overrides: str | Path | None = None  # class-name overrides YAML (over the built-in ones)
    oov: str = "error"  # word-vector policy for unknown words: error, skip or subword
    pretrain_classes: list[str] = field(default_factory=list)
    compare: list[tuple[str, str]] = field(default_factory=list)
    figures: bool = True


def check_compare(pairs: Sequence[tuple[str, str]], variants: Sequence[str]) -> list[tuple[str, str]]:
    """The (A, B) pairs to compare, or ConfigError naming the first that is not two different variants that run."""
    out = []
    for pair in pairs:
        names = [str(x).strip() for x in pair]
        shown = ",".join(names)
        if len(names) != 2 or not all(names) or names[0] == names[1]:
            raise ConfigError(f"compare {shown!r}: give two different variants as A,B")
        unknown = [n for n in names if n not in variants]
        if unknown:
            raise ConfigError(f"compare {shown!r}: {', '.join(unknown)} not among the variants ({', '.join(variants)})")
        out.append((names[0], names[1]))
    return out


def store_splits(run: ZslRun, name: str, path: str) -> tuple[list[str], list[ClassSplit]]:
    """The store's classes (those asked for that have videos) and its splits, restricted to them."""
    from action2vec.evaluation.splits import load_splits, random_splits

    store = open_store(path)
    backbone = str(store.meta.get("backbone") or "")
    if backbone in PRETRAINING_DATA and not run.pretrain_classes and not store.meta.get("random_weights"):
        log.warning(
            "%s: backbone %s was pretrained on %s; test classes that are %s classes are not truly "
            "unseen (give its class list with --pretrain-classes to list them)",
            path,
            backbone,
            PRETRAINING_DATA[backbone],
            PRETRAINING_DATA[backbone],
        )
    present = set(store.classes)
    classes = [c for c in (run.classes or store.classes) if c in present]
    if len(classes) < 2:
        raise DataError(f"{path}: fewer than 2 of the asked classes have videos")
    if name in run.splits:
        splits = load_splits(run.splits[name])
    else:
        splits = random_splits(classes, run.zsl.ratios, range(run.zsl.seeds))
    for s in splits:
        s.seen = [c for c in s.seen if c in set(classes)]
        s.unseen = [c for c in s.unseen if c in set(classes)]
    return classes, splits


def plan_zero_shot(run: ZslRun) -> tuple[list[ZslJob], dict[str, list[ClassSplit]]]:
    """Every (data set, split, method) job of ``run`` and each data set's splits, after every check that needs no
    training (settings, stores, split files, variant pairs): nothing is written yet."""
    from action2vec.config import check_ranges
    from action2vec.text import build_label_vectors

    check_ranges(run.zsl, "zsl")
    check_compare(run.compare, run.zsl.variants)
    unknown = sorted(set(run.splits) - set(run.stores))
    if unknown:
        raise DataError(
            f"split files name {unknown}, which match no store's data set name (stores: {list(run.stores)})"
        )
    jobs: list[ZslJob] = []
    splits_of: dict[str, list[ClassSplit]] = {}
    for name, path in run.stores.items():
        if MATCH_VARIANT in run.zsl.variants:  # before the label texts are embedded (plan_jobs checks it again)
            check_same_model(open_store(path).meta, run.train.data.text, path)
        classes, splits = store_splits(run, name, path)
        lv = build_label_vectors(
            sorted(set(classes) | {c for s in splits for c in s.seen + s.unseen}),
            run.train.data.text,
            overrides=run.overrides,
            oov=run.oov,
            prompts=run.train.data.prompts,
        )
        jobs += plan_jobs(name, path, splits, lv, run.zsl, run.train, run.out, run.pretrain_classes)
        splits_of[name] = splits
    return jobs, splits_of


def run_zero_shot(run: ZslRun) -> ZslSummary:
    """The zero-shot protocol as ``action2vec zsl`` runs it: plan every job (checked before anything is
    written), save the splits into ``out/splits/<data set>.json``, run the jobs (resuming finished ones) and write
    ``zsl.json`` and ``zsl_table.md`` (and the confusion figures) into ``out``."""
    from action2vec.evaluation.splits import save_splits

    jobs, splits_of = plan_zero_shot(run)
    out = Path(run.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, splits in splits_of.items():
        save_splits(splits, out / "splits" / f"{name}.json")
    return run_zsl(
        jobs,
        out,
        workers=run.zsl.workers,
        figures=out / "figures" if run.figures else None,
        compare=check_compare(run.compare, run.zsl.variants),
    )
