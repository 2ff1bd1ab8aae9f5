"""Evaluation as pure functions over arrays (SPEC steps 7–8): metrics, zero-shot classification,
class splits, the pooled-feature KRR baseline, the WordNet test and the analogy test. The zero-shot
protocol runner (``protocol``) ties them to a feature store and training. See docs/evaluation.md.
"""

from action2vec.evaluation.analogy import AnalogyPair, analogy_pairs, analogy_test
from action2vec.evaluation.krr import KRRConfig, LaplacianKRR, mean_pool
from action2vec.evaluation.metrics import (
    classification_metrics,
    confusion_matrix,
    gzsl_metrics,
    harmonic_mean,
    mean_per_class_accuracy,
    topk_accuracy,
)
from action2vec.evaluation.splits import ClassSplit, load_splits, overlap_filter, random_splits, save_splits
from action2vec.evaluation.wordnet_test import cosine_matrix, rowwise_spearman, wordnet_test, wup_matrix
from action2vec.evaluation.zero_shot import cosine_topk, zero_shot_evaluate

__all__ = [
    "AnalogyPair",
    "analogy_pairs",
    "analogy_test",
    "KRRConfig",
    "LaplacianKRR",
    "mean_pool",
    "classification_metrics",
    "confusion_matrix",
    "gzsl_metrics",
    "harmonic_mean",
    "mean_per_class_accuracy",
    "topk_accuracy",
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
