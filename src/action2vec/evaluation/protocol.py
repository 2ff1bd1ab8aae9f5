"""The zero-shot protocol runner (SPEC step 7, paper Tables 1–2).

For each class split and each variant: train on the seen classes' videos only (an Action2Vec variant
through :func:`action2vec.training.fit`, or the pooled-feature KRR baseline), embed the unseen classes'
videos, classify them by cosine against the unseen classes' label vectors, and score top-1, top-5 and
mean per-class accuracy; with held-out seen-class videos (``seen_holdout``) also generalised zero-shot
accuracy (seen, unseen, harmonic mean) over seen ∪ unseen classes. Results are averaged over splits.

Output folder::

    OUT/splits/<dataset>.json                         the splits used (reload with --splits)
    OUT/runs/<dataset>/<split>/<variant>/result.json  one finished (split, variant); reused on rerun
    OUT/runs/<dataset>/<split>/<variant>/train/       the training run folder (fit() resumes it)
    OUT/zsl.json                                      mean ± std per dataset, variant, ratio, metric
    OUT/zsl_table.md                                  the table in the paper's layout
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from action2vec.config import apply_overrides, from_dict, option, to_dict
from action2vec.errors import ConfigError, DataError
from action2vec.evaluation.krr import KRRConfig, LaplacianKRR, mean_pool, stratified_subsample
from action2vec.evaluation.metrics import gzsl_metrics
from action2vec.evaluation.splits import ClassSplit, name_overlap, overlap_filter
from action2vec.evaluation.zero_shot import cosine_topk, zero_shot_evaluate
from action2vec.linalg import l2_normalize
from action2vec.variants import METHODS, method

log = logging.getLogger(__name__)

__all__ = ["PRETRAINING_DATA", "ZslConfig", "ZslJob", "plan_jobs", "run_split_variant", "run_zsl", "summarize"]

# What each backbone's weights were trained on: the test classes of a zero-shot split that are also
# classes of that data set are not really unseen by the features (warned about by the zsl command).
PRETRAINING_DATA = {
    "c3d": "Sports-1M", "r3d_18": "Kinetics-400", "r2plus1d_18": "Kinetics-400", "s3d": "Kinetics-400",
    "mvit_v1_b": "Kinetics-400", "mvit_v2_s": "Kinetics-400",
}


@dataclass
class ZslConfig:
    """Settings of the zero-shot protocol."""

    ratios: list[str] = option(["50/50", "80/20", "90/10"], "seen/unseen class ratios of the random splits")
    seeds: int = option(10, "random splits per ratio (seeds 0..N-1)")
    variants: list[str] = option(["a2v_attention", "pooled_krr"], f"variants to run: {', '.join(METHODS)}")
    overlap_threshold: float = option(0.0, "drop seen classes whose label vector has cosine >= this with a test class (0: off; E2E uses 0.95)")
    seen_holdout: float = option(0.0, "fraction of seen-class videos held out from training: validation and GZSL seen-class test")
    workers: int = option(0, "parallel split processes (0: as many as the cores allow at 2 threads each)")
    top_k: list[int] = option([1, 5], "top-k accuracies to report")
    krr: KRRConfig = field(default_factory=KRRConfig)


@dataclass
class ZslJob:
    """One (dataset, split, variant) to train and evaluate."""

    dataset: str
    split: ClassSplit
    variant: str
    out_dir: Path
    store_path: str
    label_names: list[str]
    label_array: np.ndarray  # (N, E)
    zsl: ZslConfig
    train_cfg: dict[str, Any]  # RunConfig as a dict (variant overrides are applied here)
    pretrain_classes: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.out_dir / "runs" / self.dataset / self.split.name / self.variant

    def fingerprint(self) -> str:
        """Hash of everything that decides the result (rerun with anything else -> another folder)."""
        doc = {
            "seen": sorted(self.split.seen), "unseen": sorted(self.split.unseen), "variant": self.variant,
            "overlap": self.zsl.overlap_threshold, "holdout": self.zsl.seen_holdout, "top_k": self.zsl.top_k,
            "train": self.train_cfg if method(self.variant).overrides is not None else to_dict(self.zsl.krr),
            "seed": self.split.seed,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _open(path: str):
    from action2vec.store import open_store

    return open_store(path)


def _class_vectors(job: ZslJob, names: Sequence[str]) -> np.ndarray:
    pos = {n: i for i, n in enumerate(job.label_names)}
    missing = [n for n in names if n not in pos]
    if missing:
        raise DataError(f"no label vector for class(es) {missing[:5]}")
    return job.label_array[[pos[n] for n in names]]


def _krr_embed(job: ZslJob, store, train_pos: np.ndarray, test_pos: np.ndarray) -> np.ndarray:
    """Fit the pooled-feature KRR on seen videos; map the test videos into label space. -> (N, E)."""
    cfg = job.zsl.krr
    labels = np.array([store.labels[i] for i in train_pos])
    keep = train_pos[stratified_subsample(labels, cfg.max_train, cfg.seed)]
    if len(keep) < len(train_pos):
        log.info("KRR: %d of %d training videos (krr.max_train)", len(keep), len(train_pos))
    x = l2_normalize(mean_pool(store.read_many(keep), store.lengths[keep]))
    y = l2_normalize(_class_vectors(job, [store.labels[i] for i in keep]))
    model = LaplacianKRR(cfg).fit(x, y)
    out = []
    for s in range(0, len(test_pos), 4096):
        part = test_pos[s : s + 4096]
        out.append(model.predict(l2_normalize(mean_pool(store.read_many(part), store.lengths[part]))))
    return np.concatenate(out) if out else np.zeros((0, y.shape[1]), np.float32)


def _a2v_embed(job: ZslJob, store, train_pos, val_pos, test_pos) -> np.ndarray:
    """Train the variant on seen videos with fit(); embed the test videos with the exported model."""
    from action2vec.inference import Action2Vec
    from action2vec.text import LabelVectors
    from action2vec.training import fit
    from action2vec.training.config import RunConfig

    # the split decides the training classes: a class list in the base config must not widen them
    overrides = list(method(job.variant).overrides or []) + ["data.classes=null", "data.classes_file="]
    cfg = from_dict(RunConfig, apply_overrides(job.train_cfg, overrides))
    seen_classes = sorted({store.labels[i] for i in train_pos})
    lv = LabelVectors(seen_classes, _class_vectors(job, seen_classes))
    result = fit(cfg, job.folder / "train", store=store, label_vectors=lv,
                 train_keys=[store.keys[i] for i in train_pos], val_keys=[store.keys[i] for i in val_pos])
    model = Action2Vec.load(result.model_dir)
    return model.encode_store(store, test_pos)


def run_split_variant(job: ZslJob) -> dict[str, Any]:
    """Train and evaluate one (split, variant); reuse its result.json when it was already finished."""
    result_path = job.folder / "result.json"
    fp = job.fingerprint()
    if result_path.is_file():
        done = json.loads(result_path.read_text())
        if done.get("fingerprint") == fp:
            log.info("%s/%s/%s: finished before, reusing %s", job.dataset, job.split.name, job.variant, result_path)
            return done
        raise ConfigError(f"{result_path} holds a result of another configuration; use another output folder")
    method(job.variant)  # ConfigError for an unknown identifier

    store = _open(job.store_path)
    present = set(store.classes)
    seen = [c for c in job.split.seen if c in present]
    unseen = [c for c in job.split.unseen if c in present]
    if not seen or not unseen:
        raise DataError(f"{job.store_path}: split {job.split.name} has no videos of its seen or of its unseen classes")
    dropped: dict[str, tuple[str, float]] = {}
    if job.zsl.overlap_threshold > 0:
        vecs = dict(zip(job.label_names, job.label_array))
        seen, dropped = overlap_filter(seen, unseen, vecs, job.zsl.overlap_threshold)
        if dropped:
            log.info("%s: dropped %d seen classes too close to test classes", job.split.name, len(dropped))
    pretrain_overlap = name_overlap(unseen, job.pretrain_classes) if job.pretrain_classes else []
    if pretrain_overlap:
        log.warning("%s: %d test classes are also backbone pretraining classes, e.g. %s",
                    job.split.name, len(pretrain_overlap), pretrain_overlap[:3])

    from action2vec.training.data import stratified_holdout

    seen_pos = store.indices_of_classes(seen)
    seed = job.split.seed or 0
    tr, ho = stratified_holdout([store.labels[i] for i in seen_pos], job.zsl.seen_holdout, seed)
    train_pos, held_pos = seen_pos[tr], seen_pos[ho]
    unseen_pos = store.indices_of_classes(unseen)
    test_pos = np.concatenate([unseen_pos, held_pos])

    if method(job.variant).overrides is None:
        emb = _krr_embed(job, store, train_pos, test_pos)
    else:
        emb = _a2v_embed(job, store, train_pos, held_pos, test_pos)
    emb_unseen, emb_held = emb[: len(unseen_pos)], emb[len(unseen_pos) :]

    class_idx = {c: i for i, c in enumerate(unseen)}
    labels = np.array([class_idx[store.labels[i]] for i in unseen_pos])
    zs = zero_shot_evaluate(emb_unseen, labels, _class_vectors(job, unseen), ks=tuple(job.zsl.top_k), with_confusion=True)
    metrics = {k: v for k, v in zs.items() if k not in ("predicted", "confusion")}
    if len(held_pos):
        every = seen + unseen
        all_idx = {c: i for i, c in enumerate(every)}
        all_labels = np.array([all_idx[store.labels[i]] for i in np.concatenate([unseen_pos, held_pos])])
        ranked, _ = cosine_topk(np.concatenate([emb_unseen, emb_held]), _class_vectors(job, every), k=1)
        g = gzsl_metrics(ranked[:, 0], all_labels, np.arange(len(seen)), np.arange(len(seen), len(every)))
        metrics.update({f"gzsl_{k}": v for k, v in g.items()})
    result = {
        "kind": "zsl-split",
        "fingerprint": fp,
        "dataset": job.dataset,
        "split": job.split.name,
        "ratio": job.split.ratio,
        "seed": job.split.seed,
        "variant": job.variant,
        "metrics": metrics,
        "chance": 1.0 / len(unseen),
        "seen_classes": seen,
        "unseen_classes": unseen,
        "dropped_by_overlap": {k: list(v) for k, v in dropped.items()},
        "pretrain_overlap": pretrain_overlap,
        "n_train_videos": int(len(train_pos)),
        "confusion": zs["confusion"].tolist(),
    }
    from action2vec.io import write_json

    write_json(result, result_path)
    log.info("%s/%s/%s: top1 %.4f", job.dataset, job.split.name, job.variant, metrics["top1"])
    return result


def plan_jobs(
    dataset: str,
    store_path: str | Path,
    splits: Sequence[ClassSplit],
    label_vectors: Any,
    zsl: ZslConfig,
    train_cfg: Any,
    out_dir: str | Path,
    pretrain_classes: Sequence[str] = (),
) -> list[ZslJob]:
    """One job per (split, variant) of one dataset. ``label_vectors``: LabelVectors of every class;
    ``train_cfg``: the base training RunConfig (or its dict)."""
    unknown = [v for v in zsl.variants if v not in METHODS]
    if unknown:
        raise ConfigError(f"config key 'zsl.variants': unknown variant(s) {unknown} (known: {', '.join(METHODS)})")
    base = train_cfg if isinstance(train_cfg, dict) else to_dict(train_cfg)
    return [
        ZslJob(dataset=dataset, split=split, variant=variant, out_dir=Path(out_dir), store_path=str(store_path),
               label_names=list(label_vectors.names), label_array=np.asarray(label_vectors.vectors, np.float32),
               zsl=zsl, train_cfg=base, pretrain_classes=list(pretrain_classes))
        for split in splits
        for variant in zsl.variants
    ]


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and std (over splits, ddof=1) per dataset, variant, ratio and metric.

    ``{"kind": "zsl", "datasets": {ds: {"results": {variant: {ratio: {metric: {"mean", "std", "n"}}}},
    "chance": {ratio: mean 1/n_unseen}}}, "variants": [...], "n_splits": max splits per ratio}``.
    """
    grouped: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {}
    chance: dict[str, dict[str, list[float]]] = {}
    variants: list[str] = []
    for r in results:
        ratio = r["ratio"] or r["split"]
        if r["variant"] not in variants:
            variants.append(r["variant"])
        cell = grouped.setdefault(r["dataset"], {}).setdefault(r["variant"], {}).setdefault(ratio, {})
        for metric, value in r["metrics"].items():
            if isinstance(value, (int, float)) and not metric.startswith("n") and not metric.startswith("gzsl_n"):
                cell.setdefault(metric, []).append(float(value) if value is not None else float("nan"))
        chance.setdefault(r["dataset"], {}).setdefault(ratio, []).append(r["chance"])

    def stats(values: list[float]) -> dict[str, float]:
        a = np.asarray(values, np.float64)
        return {"mean": float(np.nanmean(a)) if np.isfinite(a).any() else float("nan"),
                "std": float(np.nanstd(a, ddof=1)) if np.isfinite(a).sum() > 1 else 0.0, "n": int(len(a))}

    datasets = {}
    n_splits = 0
    for ds, by_variant in grouped.items():
        res = {}
        for v in variants:
            if v in by_variant:
                res[v] = {ratio: {m: stats(vals) for m, vals in cell.items()} for ratio, cell in by_variant[v].items()}
                n_splits = max([n_splits] + [len(vals) for cell in by_variant[v].values() for vals in cell.values()])
        datasets[ds] = {"results": res, "chance": {ratio: float(np.mean(c)) for ratio, c in chance[ds].items()}}
    return {"kind": "zsl", "datasets": datasets, "variants": variants, "n_splits": n_splits}


def default_workers(n_jobs: int, threads_per_job: int = 2) -> int:
    """Parallel processes the cores allow (at ``threads_per_job`` threads each), at most ``n_jobs``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(n_jobs, cores // threads_per_job))


def _worker_init(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run_zsl(
    jobs: Sequence[ZslJob],
    out_dir: str | Path,
    workers: int = 0,
) -> dict[str, Any]:
    """Run every job (in parallel processes when ``workers`` > 1), then write zsl.json and the table."""
    from action2vec.io import write_json
    from action2vec.reports.tables import zsl_table_markdown

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = workers or default_workers(len(jobs))
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        cores = os.cpu_count() or 1
        threads = max(1, cores // workers)
        log.info("running %d (split, variant) jobs in %d processes", len(jobs), workers)
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                 initargs=(threads,)) as pool:
            results = list(pool.map(run_split_variant, jobs))
    else:
        results = [run_split_variant(job) for job in jobs]
    summary = summarize(results)
    write_json(summary, out_dir / "zsl.json")
    (out_dir / "zsl_table.md").write_text(zsl_table_markdown(summary))
    return summary
