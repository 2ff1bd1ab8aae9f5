"""Evaluation as pure functions over arrays and the result types (SPEC steps 7–8): metrics and chance
levels, zero-shot classification, class splits, the pooled-feature KRR baseline, the WordNet correlation
test, the analogy test, paired comparisons and bootstrap intervals (``paired``), the numbers behind the report's findings, and ``results`` (one dataclass with one JSON form per result). Nothing here trains,
reads a model or writes a report: the experiment runners in :mod:`action2vec.experiments` do. See
docs/evaluation.md.
"""

from action2vec.evaluation.analogy import AnalogyPair, analogy_pairs, analogy_test
from action2vec.evaluation.class_vectors import class_means
from action2vec.evaluation.findings import class_grouping, neighbour_agreement, paired_gap
from action2vec.evaluation.krr import KRRConfig, LaplacianKRR
from action2vec.evaluation.metrics import (
    chance_levels,
    classification_metrics,
    confusion_matrix,
    gzsl_metrics,
    harmonic_mean,
    mean_per_class_accuracy,
    topk_accuracy,
)
from action2vec.evaluation.paired import bootstrap_difference, bootstrap_mean, paired_comparison, zsl_comparisons
from action2vec.evaluation.results import (
    AnalogyResult,
    BootstrapInterval,
    MeanStd,
    PairedComparison,
    WordNetResult,
    ZslSplitResult,
    ZslSummary,
    read_result,
)
from action2vec.evaluation.splits import ClassSplit, load_splits, overlap_filter, random_splits, save_splits
from action2vec.evaluation.wordnet_correlation import cosine_matrix, rowwise_spearman, wordnet_test, wup_matrix
from action2vec.evaluation.zero_shot import cosine_topk, zero_shot_evaluate

__all__ = [
    "AnalogyPair",
    "analogy_pairs",
    "analogy_test",
    "class_means",
    "class_grouping",
    "neighbour_agreement",
    "paired_gap",
    "paired_comparison",
    "zsl_comparisons",
    "bootstrap_mean",
    "bootstrap_difference",
    "PairedComparison",
    "BootstrapInterval",
    "KRRConfig",
    "LaplacianKRR",
    "chance_levels",
    "classification_metrics",
    "confusion_matrix",
    "gzsl_metrics",
    "harmonic_mean",
    "mean_per_class_accuracy",
    "topk_accuracy",
    "AnalogyResult",
    "MeanStd",
    "WordNetResult",
    "ZslSplitResult",
    "ZslSummary",
    "read_result",
    "ClassSplit",
    "load_splits",
    "overlap_filter",
    "random_splits",
    "save_splits",
    "cosine_matrix",
    "rowwise_spearman",
    "wordnet_test",
    "wup_matrix",
    "cosine_topk",
    "zero_shot_evaluate",
]
