"""Losses: bidirectional pairwise ranking on cosine, classification, and the paper's dual loss."""

from action2vec.losses.dual import DualLoss, LossConfig, lambda_at
from action2vec.losses.ranking import classification_loss, ranking_loss

__all__ = ["DualLoss", "LossConfig", "lambda_at", "classification_loss", "ranking_loss"]
