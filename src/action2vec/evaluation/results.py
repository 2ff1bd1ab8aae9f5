"""Evaluation results as types, each with one JSON form (``to_json`` / ``from_json``).

    ZslSplitResult   one (split, method) of the zero-shot protocol     OUT/runs/<ds>/<split>/<method>/result.json
    ZslSummary       mean ± std over splits per data set, method, ratio  OUT/zsl.json (kind "zsl", version 2)
    PairedComparison two methods on the same splits: difference, interval, p  in ZslSummary
    BootstrapInterval a mean with its bootstrap interval                 in WordNetResult
    DataSource       a data set's store, its counts and label texts        in ZslSummary
    WordNetResult    the WordNet test (paper Table 3)                     eval wordnet --json (kind "wordnet")
    ClassGrouping    do the class vectors group by verb or by noun?       in WordNetResult
    AnalogyResult    the analogy test (paper Table 4), every reading      eval analogy --json (kind "analogy")

Accuracies are fractions. Tables and reports read these types, never the JSON. ``from_json`` also reads the
files of earlier versions: a version-1 ``zsl.json`` held one chance level per ratio (1/n_unseen; top-k chance
is read as k/n) and no features or PCA records; an analogy file without ``scores`` was one reading with the
query class left out (the demo's ``text_only`` / ``zero_shot_model`` comparisons become scores). A file of
another kind, or one that lacks a field every version wrote, raises DataError naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np

from action2vec.errors import DataError

__all__ = [
    "MeanStd",
    "PcaFit",
    "ZslSplitResult",
    "ZslRun",
    "DataSource",
    "ZslDataset",
    "ZslSummary",
    "PairedComparison",
    "BootstrapInterval",
    "SpearmanDifference",
    "WordNetResult",
    "GroupAgreement",
    "ClassGrouping",
    "AnalogyExample",
    "AnalogyScore",
    "AnalogyResult",
    "read_result",
]


def _need(doc: Any, kind: str, keys: Sequence[str], source: str) -> dict[str, Any]:
    """``doc`` as a dict of ``kind`` holding ``keys``, or DataError naming ``source``."""
    if not isinstance(doc, dict) or doc.get("kind") != kind:
        found = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
        raise DataError(f"{source}: not a {kind!r} result (kind {found!r})")
    missing = [k for k in keys if k not in doc]
    if missing:
        raise DataError(f"{source}: {kind!r} result without {missing}")
    return doc


def _number(value: Any) -> float:
    """A JSON number (null for NaN) as a float."""
    return float("nan") if value is None else float(value)


@dataclass
class MeanStd:
    """Mean and standard deviation (ddof = 1) of one metric over ``n`` splits."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "MeanStd":
        """NaN-aware mean and std of ``values`` (std 0 with fewer than two finite values)."""
        a = np.asarray(values, np.float64)
        finite = np.isfinite(a)
        return cls(
            mean=float(np.nanmean(a)) if finite.any() else float("nan"),
            std=float(np.nanstd(a, ddof=1)) if finite.sum() > 1 else 0.0,
            n=int(len(a)),
        )

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": self.n}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "MeanStd":
        return cls(_number(doc.get("mean")), _number(doc.get("std", 0.0)), int(doc.get("n", 1)))


@dataclass
class PcaFit:
    """What the PCA behind a method's features was fitted on: ``seen`` (the split's seen-class training
    videos), ``store`` (the store's own PCA; ``videos`` None when it did not record how many), ``none``."""

    fitted_on: Literal["seen", "store", "none"]
    videos: int | None

    def to_json(self) -> dict[str, Any]:
        return {"fitted_on": self.fitted_on, "videos": self.videos}

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> "PcaFit | None":
        return None if not doc else cls(doc["fitted_on"], doc.get("videos"))


@dataclass
class ZslSplitResult:
    """One (split, method) of the zero-shot protocol: metrics on the unseen classes' test videos."""

    KIND = "zsl-split"

    dataset: str
    split: str
    ratio: str
    seed: int | None
    variant: str  # an id of action2vec.variants.METHODS
    metrics: dict[str, float]  # top1, top5, mean_class_acc, n, n_classes (+ gzsl_seen, gzsl_unseen, gzsl_harmonic)
    chance: dict[str, float]  # per metric: top-k k/n, mean_class_acc 1/n
    seen_classes: list[str]
    unseen_classes: list[str]
    confusion: np.ndarray  # (C_unseen, C_unseen) counts, row = true class
    n_train_videos: int = 0
    dropped_by_overlap: dict[str, tuple[str, float]] = field(default_factory=dict)
    pretrain_overlap: list[str] = field(default_factory=list)
    pca: PcaFit | None = None
    features: str = ""  # what the method read, e.g. "pooled c3d fc7 (4096-d)"
    transductive: bool = False
    fingerprint: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)  # what the fingerprint hashes (names a changed input)

    @property
    def ratio_key(self) -> str:
        """The block of the table this result belongs to: its ratio, or its split name for given splits."""
        return self.ratio or self.split

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "fingerprint": self.fingerprint,
            "dataset": self.dataset,
            "split": self.split,
            "ratio": self.ratio,
            "seed": self.seed,
            "variant": self.variant,
            "metrics": dict(self.metrics),
            "chance": dict(self.chance),
            "seen_classes": list(self.seen_classes),
            "unseen_classes": list(self.unseen_classes),
            "dropped_by_overlap": {k: list(v) for k, v in self.dropped_by_overlap.items()},
            "pretrain_overlap": list(self.pretrain_overlap),
            "n_train_videos": self.n_train_videos,
            "pca": self.pca.to_json() if self.pca else None,
            "features": self.features,
            "transductive": self.transductive,
            "confusion": np.asarray(self.confusion).tolist(),
            "inputs": self.inputs,
        }

    @classmethod
    def from_json(cls, doc: Any, source: str = "zero-shot split result") -> "ZslSplitResult":
        d = _need(doc, cls.KIND, ("dataset", "split", "variant", "metrics", "unseen_classes"), source)
        chance = d.get("chance")
        if not isinstance(chance, dict):  # version 1: one number, 1/n_unseen
            chance = _chance_from_one_over_n(chance, d["metrics"])
        return cls(
            dataset=d["dataset"],
            split=d["split"],
            ratio=d.get("ratio") or "",
            seed=d.get("seed"),
            variant=d["variant"],
            metrics={k: _number(v) for k, v in d["metrics"].items()},
            chance={k: float(v) for k, v in chance.items()},
            seen_classes=list(d.get("seen_classes", [])),
            unseen_classes=list(d["unseen_classes"]),
            confusion=np.asarray(d.get("confusion", []), dtype=np.int64),
            n_train_videos=int(d.get("n_train_videos", 0)),
            dropped_by_overlap={k: (v[0], float(v[1])) for k, v in d.get("dropped_by_overlap", {}).items()},
            pretrain_overlap=list(d.get("pretrain_overlap", [])),
            pca=PcaFit.from_json(d.get("pca")),
            features=d.get("features") or "",
            transductive=bool(d.get("transductive", False)),
            fingerprint=d.get("fingerprint", ""),
            inputs=dict(d.get("inputs") or {}),
        )


def _chance_from_one_over_n(chance: Any, metrics: Sequence[str]) -> dict[str, float]:
    """A version-1 chance level (one number, 1/n) as per-metric chance levels: top-k k/n, mean per-class 1/n."""
    if chance is None:
        return {}
    c = float(chance)
    out = {m: min(1.0, int(m[3:]) * c) for m in metrics if m.startswith("top") and m[3:].isdigit()}
    out["mean_class_acc"] = c
    return out


@dataclass
class ZslRun:
    """What one (split, method) of a summary read: its PCA, its features, whether it was transductive."""

    dataset: str
    split: str
    ratio: str
    seed: int | None
    variant: str
    pca: PcaFit | None = None
    features: str = ""
    transductive: bool = False
    metrics: dict[str, float] = field(default_factory=dict)  # what it scored ({} in files written before)

    @property
    def ratio_key(self) -> str:
        """Its block of the table: its ratio, or its split name for given splits."""
        return self.ratio or self.split

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "ratio": self.ratio,
            "seed": self.seed,
            "variant": self.variant,
            "pca": self.pca.to_json() if self.pca else None,
            "features": self.features,
            "transductive": self.transductive,
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "ZslRun":
        return cls(
            doc["dataset"],
            doc["split"],
            doc.get("ratio") or "",
            doc.get("seed"),
            doc["variant"],
            PcaFit.from_json(doc.get("pca")),
            doc.get("features") or "",
            bool(doc.get("transductive", False)),
            {k: _number(v) for k, v in (doc.get("metrics") or {}).items()},
        )


@dataclass
class DataSource:
    """Where a data set's features and label vectors came from (recorded by the zero-shot runner)."""

    store: str = ""  # the feature store's path
    videos: int | None = None  # videos in the store
    classes: int | None = None  # classes the splits drew from
    meta: dict[str, Any] = field(default_factory=dict)  # how the features were made: backbone, layer, dim, pca
    text: str = ""  # the embedder that made the label vectors
    prompts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "videos": self.videos,
            "classes": self.classes,
            "meta": dict(self.meta),
            "text": self.text,
            "prompts": list(self.prompts),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> "DataSource | None":
        if not doc:
            return None
        return cls(
            doc.get("store") or "",
            doc.get("videos"),
            doc.get("classes"),
            dict(doc.get("meta") or {}),
            doc.get("text") or "",
            list(doc.get("prompts") or []),
        )


@dataclass
class ZslDataset:
    """One data set (one table column) of a zero-shot summary."""

    results: dict[str, dict[str, dict[str, MeanStd]]]  # method -> ratio -> metric -> mean ± std over splits
    chance: dict[str, dict[str, float]]  # ratio -> metric -> mean chance level over splits
    features: dict[str, str] = field(default_factory=dict)  # method -> what it read
    source: DataSource | None = None  # its store and label texts (None in files written before)

    def to_json(self) -> dict[str, Any]:
        return {
            "results": {
                v: {r: {m: s.to_json() for m, s in cell.items()} for r, cell in by_ratio.items()}
                for v, by_ratio in self.results.items()
            },
            "chance": self.chance,
            "features": self.features,
            "source": self.source.to_json() if self.source else None,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "ZslDataset":
        results = {
            v: {r: {m: MeanStd.from_json(s) for m, s in cell.items()} for r, cell in by_ratio.items()}
            for v, by_ratio in doc.get("results", {}).items()
        }
        chance = {}
        for ratio, value in doc.get("chance", {}).items():
            if isinstance(value, dict):
                chance[ratio] = {m: float(c) for m, c in value.items()}
            else:  # version 1: one number per ratio
                metrics = {m for by_ratio in results.values() for m in by_ratio.get(ratio, {})}
                chance[ratio] = _chance_from_one_over_n(value, sorted(metrics | {"top1", "top5"}))
        return cls(results, chance, dict(doc.get("features", {})), DataSource.from_json(doc.get("source")))


SIGNIFICANCE = 0.05


@dataclass
class PairedComparison:
    """Method ``a`` against method ``b`` on the same ``n`` splits (:func:`action2vec.evaluation.paired.paired_comparison`):
    the mean paired difference a − b, its interval (``interval`` says how), the two-sided p of ``test``."""

    a: str
    b: str
    dataset: str
    ratio: str
    metric: str
    n: int  # splits both ran on (with a finite score)
    mean_a: float
    mean_b: float
    difference: float  # mean of a − b over the splits
    low: float  # interval of the difference (NaN for n < 2)
    high: float
    confidence: float
    p: float  # two-sided p-value (NaN for n < 2)
    p_min: float  # the smallest p the exact test can give with these splits (2 / 2^nonzero)
    nonzero: int  # splits with a non-zero difference (the test's m)
    wins: int  # splits where a > b
    losses: int
    test: str  # e.g. "exact Wilcoxon signed-rank"
    interval: str  # e.g. "Student t over splits"

    @property
    def verdict(self) -> Literal["better", "worse", "no significant difference at 5 %"]:
        """From the test alone (never the means): a better / worse than b when p < 0.05."""
        if self.p == self.p and self.p < SIGNIFICANCE and self.difference == self.difference and self.difference != 0:
            return "better" if self.difference > 0 else "worse"
        return "no significant difference at 5 %"

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "dataset": self.dataset,
            "ratio": self.ratio,
            "metric": self.metric,
            "n": self.n,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "p": self.p,
            "p_min": self.p_min,
            "nonzero": self.nonzero,
            "wins": self.wins,
            "losses": self.losses,
            "test": self.test,
            "interval": self.interval,
            "verdict": self.verdict,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "PairedComparison":
        return cls(
            doc["a"],
            doc["b"],
            doc.get("dataset", ""),
            doc.get("ratio", ""),
            doc.get("metric", ""),
            int(doc["n"]),
            _number(doc.get("mean_a")),
            _number(doc.get("mean_b")),
            _number(doc.get("difference")),
            _number(doc.get("low")),
            _number(doc.get("high")),
            float(doc.get("confidence", 0.95)),
            _number(doc.get("p")),
            _number(doc.get("p_min")),
            int(doc.get("nonzero", 0)),
            int(doc.get("wins", 0)),
            int(doc.get("losses", 0)),
            doc.get("test", ""),
            doc.get("interval", ""),
        )


@dataclass
class BootstrapInterval:
    """A mean over ``n`` items with its percentile bootstrap interval (``resamples`` draws, ``seed``)."""

    mean: float
    low: float
    high: float
    n: int
    resamples: int
    seed: int
    confidence: float = 0.95

    @property
    def excludes_zero(self) -> bool:
        return self.low == self.low and (self.low > 0 or self.high < 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "resamples": self.resamples,
            "seed": self.seed,
            "confidence": self.confidence,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "BootstrapInterval":
        return cls(
            _number(doc.get("mean")),
            _number(doc.get("low")),
            _number(doc.get("high")),
            int(doc.get("n", 0)),
            int(doc.get("resamples", 0)),
            int(doc.get("seed", 0)),
            float(doc.get("confidence", 0.95)),
        )


@dataclass
class SpearmanDifference:
    """Class vectors ``a`` against ``b`` in the WordNet test: the mean over rows of their row correlations'
    difference a − b, on the rows both define, with its bootstrap interval."""

    a: str
    b: str
    interval: BootstrapInterval

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, **self.interval.to_json()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "SpearmanDifference":
        return cls(doc["a"], doc["b"], BootstrapInterval.from_json(doc))


def _averaged(metric: str) -> bool:
    """A score averaged over splits (not a count such as ``n``, ``n_classes``, ``gzsl_n_seen``)."""
    return not metric.startswith("n") and not metric.startswith("gzsl_n")


@dataclass
class ZslSummary:
    """Mean ± std over splits per data set, method, ratio and metric; what every run read."""

    KIND = "zsl"
    VERSION = 2

    datasets: dict[str, ZslDataset]
    variants: list[str]  # methods, in the order they were run
    n_splits: int  # the most splits behind one cell
    transductive: bool = False  # some result used the unlabelled test videos
    runs: list[ZslRun] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # the protocol's settings (ZslConfig as a dict), when recorded
    comparisons: list[PairedComparison] = field(default_factory=list)  # paired tests ([] in files written before)

    @classmethod
    def from_splits(cls, results: Sequence[ZslSplitResult]) -> "ZslSummary":
        """Group split results by data set, method and ratio; mean ± std (ddof = 1) of every metric."""
        values: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {}
        chance: dict[str, dict[str, dict[str, list[float]]]] = {}
        features: dict[str, dict[str, str]] = {}
        variants: list[str] = []
        for r in results:
            variants += [] if r.variant in variants else [r.variant]
            cell = values.setdefault(r.dataset, {}).setdefault(r.variant, {}).setdefault(r.ratio_key, {})
            for metric, value in r.metrics.items():
                if _averaged(metric):
                    cell.setdefault(metric, []).append(value)
            for metric, value in r.chance.items():
                chance.setdefault(r.dataset, {}).setdefault(r.ratio_key, {}).setdefault(metric, []).append(value)
            if r.features:
                features.setdefault(r.dataset, {}).setdefault(r.variant, r.features)
        datasets = {
            ds: ZslDataset(
                results={
                    v: {ratio: {m: MeanStd.of(vals) for m, vals in cell.items()} for ratio, cell in by_v[v].items()}
                    for v in variants
                    if v in by_v
                },
                chance={ratio: {m: float(np.mean(c)) for m, c in by_m.items()} for ratio, by_m in chance[ds].items()},
                features=features.get(ds, {}),
            )
            for ds, by_v in values.items()
        }
        n_splits = max(
            (
                s.n
                for d in datasets.values()
                for by_r in d.results.values()
                for cell in by_r.values()
                for s in cell.values()
            ),
            default=0,
        )
        runs = [
            ZslRun(
                r.dataset,
                r.split,
                r.ratio,
                r.seed,
                r.variant,
                r.pca,
                r.features,
                r.transductive,
                {k: v for k, v in r.metrics.items() if _averaged(k)},
            )
            for r in results
        ]
        return cls(datasets, variants, n_splits, any(r.transductive for r in results), runs)

    def ratios(self) -> list[str]:
        """Every ratio (table block) in the order first met."""
        out: list[str] = []
        for ds in self.datasets.values():
            for by_ratio in ds.results.values():
                out += [r for r in by_ratio if r not in out]
        return out

    def cell(self, dataset: str, variant: str, ratio: str) -> dict[str, MeanStd]:
        """Every metric of one table cell ({} when that method did not run there)."""
        return self.datasets[dataset].results.get(variant, {}).get(ratio, {})

    def chance(self, dataset: str, ratio: str, metric: str) -> float | None:
        """The chance level of ``metric`` in one block of one data set (None when unknown)."""
        return self.datasets[dataset].chance.get(ratio, {}).get(metric)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "version": self.VERSION,
            "datasets": {name: ds.to_json() for name, ds in self.datasets.items()},
            "variants": list(self.variants),
            "n_splits": self.n_splits,
            "transductive": self.transductive,
            "splits": [r.to_json() for r in self.runs],
            "config": dict(self.config),
            "comparisons": [c.to_json() for c in self.comparisons],
        }

    @classmethod
    def from_json(cls, doc: Any, source: str = "zero-shot summary") -> "ZslSummary":
        d = _need(doc, cls.KIND, ("datasets",), source)
        if int(d.get("version", 1)) > cls.VERSION:
            raise DataError(
                f"{source}: zsl.json version {d['version']} is newer than this action2vec reads ({cls.VERSION})"
            )
        datasets = {name: ZslDataset.from_json(ds) for name, ds in d["datasets"].items()}
        variants = list(d.get("variants") or dict.fromkeys(v for ds in datasets.values() for v in ds.results))
        return cls(
            datasets,
            variants,
            int(d.get("n_splits", 0)),
            bool(d.get("transductive", False)),
            [ZslRun.from_json(r) for r in d.get("splits", [])],
            dict(d.get("config") or {}),
            [PairedComparison.from_json(c) for c in d.get("comparisons") or []],
        )

    def comparison(self, a: str, b: str, dataset: str, ratio: str, metric: str = "top1") -> PairedComparison | None:
        """The paired comparison of ``a`` against ``b`` in one cell (None when not computed)."""
        return next(
            (c for c in self.comparisons if (c.a, c.b, c.dataset, c.ratio, c.metric) == (a, b, dataset, ratio, metric)),
            None,
        )


@dataclass
class GroupAgreement:
    """How often a class's nearest other class (cosine) is of its group, and that rate by chance."""

    rate: float  # fraction of the ``n`` classes
    chance: float  # expected rate for a neighbour drawn at random among the other classes
    n: int

    @property
    def above_chance(self) -> float:
        """(rate - chance) / (1 - chance): 0 at chance, 1 when every neighbour agrees (NaN when undefined)."""
        return (self.rate - self.chance) / (1 - self.chance) if self.chance < 1 else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "chance": self.chance, "n": self.n}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "GroupAgreement":
        return cls(_number(doc.get("rate")), _number(doc.get("chance")), int(doc.get("n") or 0))


@dataclass
class ClassGrouping:
    """Nearest-neighbour agreement of one set of class vectors by verb and by noun."""

    verb: GroupAgreement
    noun: GroupAgreement

    @property
    def groups_by(self) -> Literal["verb", "noun", "neither"]:
        """The grouping further above chance (``neither`` when neither is above chance or they tie)."""
        v, n = self.verb.above_chance, self.noun.above_chance
        v, n = (-1.0 if x != x else x for x in (v, n))
        if max(v, n) <= 0 or v == n:
            return "neither"
        return "verb" if v > n else "noun"

    def to_json(self) -> dict[str, Any]:
        return {"verb": self.verb.to_json(), "noun": self.noun.to_json()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "ClassGrouping":
        return cls(GroupAgreement.from_json(doc["verb"]), GroupAgreement.from_json(doc["noun"]))


@dataclass
class WordNetResult:
    """The WordNet test: Spearman correlation, per row, of each embedding's cosine similarities with the
    Wu-Palmer similarities of the classes' WordNet lemmas, averaged over rows."""

    KIND = "wordnet"

    classes: list[str]  # the classes found in WordNet, rows of the matrices
    spearman_by: dict[str, float]  # embedding -> mean over rows (NaN when no row is defined)
    spearman_std: dict[str, float]  # embedding -> std over rows
    per_row: dict[str, list[float | None]]  # embedding -> (C,) row correlations (None: a constant row)
    lemmas: list[str] = field(default_factory=list)
    synsets: str = "max"
    match: str = "name-or-verb"
    text: str = ""  # the label-text embedder
    n_classes_given: int | None = None  # classes asked for, before the WordNet lookup
    grouping: dict[str, ClassGrouping] = field(default_factory=dict)  # embedding -> by verb / by noun, every class
    map_grouping: dict[str, ClassGrouping] = field(default_factory=dict)  # the same in the 2-D maps drawn (t-SNE)
    features: str = (
        ""  # what the "pooled" row read, e.g. "pooled c3d fc7 (4096-d)" or "pooled c3d fc7 PCA-500 features"
    )
    left_out: dict[str, str] = field(default_factory=dict)  # class -> why the test left it out
    intervals: dict[str, BootstrapInterval] = field(default_factory=dict)  # embedding -> bootstrap over rows
    differences: list[SpearmanDifference] = field(default_factory=list)  # the model's rows against the others'

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def spearman(self) -> float:
        """The first embedding's score (the model's when there is one)."""
        return next(iter(self.spearman_by.values()), float("nan"))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "n_classes": self.n_classes,
            "classes": list(self.classes),
            "spearman": self.spearman,
            "spearman_by": dict(self.spearman_by),
            "spearman_std": dict(self.spearman_std),
            "per_row": dict(self.per_row),
            "lemmas": list(self.lemmas),
            "synsets": self.synsets,
            "match": self.match,
            "text": self.text,
            "n_classes_given": self.n_classes_given,
            "grouping": {k: g.to_json() for k, g in self.grouping.items()},
            "map_grouping": {k: g.to_json() for k, g in self.map_grouping.items()},
            "features": self.features,
            "left_out": dict(self.left_out),
            "intervals": {k: i.to_json() for k, i in self.intervals.items()},
            "differences": [x.to_json() for x in self.differences],
        }

    @classmethod
    def from_json(cls, doc: Any, source: str = "WordNet result") -> "WordNetResult":
        d = _need(doc, cls.KIND, ("spearman_by",), source)
        classes = list(d.get("classes") or [f"class {i}" for i in range(int(d.get("n_classes", 0)))])
        return cls(
            classes,
            {k: _number(v) for k, v in d["spearman_by"].items()},
            {k: _number(v) for k, v in d.get("spearman_std", {}).items()},
            dict(d.get("per_row", {})),
            list(d.get("lemmas", [])),
            d.get("synsets", "max"),
            d.get("match", "name-or-verb"),
            d.get("text", ""),
            d.get("n_classes_given"),
            {k: ClassGrouping.from_json(g) for k, g in (d.get("grouping") or {}).items()},
            {k: ClassGrouping.from_json(g) for k, g in (d.get("map_grouping") or {}).items()},
            str(d.get("features") or ""),
            dict(d.get("left_out") or {}),
            {k: BootstrapInterval.from_json(i) for k, i in (d.get("intervals") or {}).items()},
            [SpearmanDifference.from_json(x) for x in d.get("differences") or []],
        )


@dataclass
class AnalogyExample:
    """One test: ``query − minus + plus`` was nearest to ``nearest`` (``expected`` passes)."""

    query: str
    minus: str
    plus: str
    expected: str
    nearest: str
    correct: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "minus": self.minus,
            "plus": self.plus,
            "expected": self.expected,
            "nearest": self.nearest,
            "correct": self.correct,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "AnalogyExample":
        return cls(doc["query"], doc["minus"], doc["plus"], doc["expected"], doc["nearest"], bool(doc["correct"]))


@dataclass
class AnalogyScore:
    """One reading of the analogy test on one set of class vectors (a row of the report's table)."""

    vectors: str  # which class vectors: "action2vec", "text", "action2vec, model of split 50-50_seed0"
    exclude_query: bool  # the query class left out of the candidates (else every class, as the paper)
    count: int
    accuracy: float
    chance: float
    correct: int | None = None
    normalize: bool = True
    subset: str = ""  # which tests ("" = all)

    def to_json(self) -> dict[str, Any]:
        return {
            "vectors": self.vectors,
            "subset": self.subset,
            "exclude_query": self.exclude_query,
            "normalize": self.normalize,
            "count": self.count,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "chance": self.chance,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "AnalogyScore":
        return cls(
            doc["vectors"],
            bool(doc.get("exclude_query", True)),
            int(doc.get("count") or 0),
            _number(doc.get("accuracy")),
            _number(doc.get("chance")),
            doc.get("correct"),
            bool(doc.get("normalize", True)),
            doc.get("subset") or "",
        )


@dataclass
class AnalogyResult:
    """The analogy test in one reading (``exclude_query``, ``normalize``, ``metric``) with its details, and
    ``scores``: that reading and others (the other candidate set, other class vectors) as table rows."""

    KIND = "analogy"

    count: int
    correct: int
    accuracy: float  # NaN when only the tests were generated
    chance: float
    per_verb: dict[str, dict[str, float]]  # verb -> {"count", "accuracy"}
    examples: list[AnalogyExample]
    metric: str = "euclidean"
    normalize: bool = True
    exclude_query: bool = True
    class_vectors: str = ""  # which class vectors this reading used
    text: str = ""  # the label-text embedder
    n_classes: int | None = None
    scores: list[AnalogyScore] = field(default_factory=list)
    tests: list[tuple[str, str]] = field(default_factory=list)  # (query class, expected class), when listed

    def score(self, vectors: str | None = None, subset: str = "") -> AnalogyScore:
        """This reading as a table row."""
        return AnalogyScore(
            vectors or self.class_vectors,
            self.exclude_query,
            self.count,
            self.accuracy,
            self.chance,
            self.correct,
            self.normalize,
            subset,
        )

    def to_json(self) -> dict[str, Any]:
        out = {
            "kind": self.KIND,
            "count": self.count,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "chance": self.chance,
            "per_verb": self.per_verb,
            "examples": [e.to_json() for e in self.examples],
            "metric": self.metric,
            "normalize": self.normalize,
            "exclude_query": self.exclude_query,
            "class_vectors": self.class_vectors,
            "text": self.text,
            "n_classes": self.n_classes,
            "scores": [s.to_json() for s in self.scores],
        }
        if self.tests:
            out["tests"] = [list(t) for t in self.tests]
        return out

    @classmethod
    def from_json(cls, doc: Any, source: str = "analogy result") -> "AnalogyResult":
        d = _need(doc, cls.KIND, ("count",), source)
        out = cls(
            int(d["count"]),
            int(d.get("correct") or 0),
            _number(d.get("accuracy")),
            _number(d.get("chance")),
            dict(d.get("per_verb", {})),
            [AnalogyExample.from_json(e) for e in d.get("examples", [])],
            d.get("metric", "euclidean"),
            bool(d.get("normalize", True)),
            bool(d.get("exclude_query", True)),
            d.get("class_vectors", ""),
            d.get("text", ""),
            d.get("n_classes"),
            [AnalogyScore.from_json(s) for s in d.get("scores", [])],
            [tuple(t) for t in d.get("tests", [])],
        )
        if not out.scores and not math.isnan(out.accuracy):
            out.scores = [out.score(out.class_vectors or "class vectors"), *_older_comparisons(d, out)]
        return out


def _older_comparisons(doc: dict[str, Any], result: AnalogyResult) -> list[AnalogyScore]:
    """The demo's comparisons in analogy files written before the readings switch, as scores."""
    out = []
    if isinstance(doc.get("text_only"), dict):
        t = doc["text_only"]
        out.append(
            AnalogyScore("text", True, result.count, _number(t.get("accuracy")), result.chance, t.get("correct"))
        )
    zs = doc.get("zero_shot_model")
    if isinstance(zs, dict):
        name = f"action2vec, model of split {zs.get('split', '?')}"
        out.append(AnalogyScore(name, True, result.count, _number(zs.get("accuracy")), result.chance))
        out.append(
            AnalogyScore(
                name,
                True,
                int(zs.get("unseen_count") or 0),
                _number(zs.get("unseen_accuracy")),
                float("nan"),
                subset="between its unseen classes",
            )
        )
    return out


_READERS = {cls.KIND: cls for cls in (ZslSummary, ZslSplitResult, WordNetResult, AnalogyResult)}


def read_result(doc: Any, source: str = "result") -> ZslSummary | ZslSplitResult | WordNetResult | AnalogyResult:
    """The result type of a parsed JSON document by its ``kind`` (DataError for another kind)."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind not in _READERS:
        raise DataError(f"{source}: not an action2vec result (kind {kind!r}; known: {', '.join(_READERS)})")
    return _READERS[kind].from_json(doc, source)
