"""The dual loss L = L_PR + lambda * L_CE with the paper's lambda schedule."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from action2vec.config import option
from action2vec.losses.ranking import Mining, classification_loss, ranking_loss


@dataclass
class LossConfig:
    margin: float = option(0.2, "ranking-loss margin on cosine similarity", ge=0)
    mining: Mining = option("hardest", "negatives: hardest (max violation), topk (mean of top_k) or all (sum)")
    top_k: int = option(5, "negatives kept per anchor with mining=topk", ge=1)
    bidirectional: bool = option(True, "rank labels for videos and videos for labels")
    ce: Literal["sigmoid", "softmax"] = option("sigmoid", "classification loss: sigmoid (BCE, paper) or softmax")
    lambda_initial: float = option(1.0, "CE weight before the switch point", ge=0)
    lambda_final: float = option(
        0.02, "CE weight after the switch point (paper: 0.02); 0 with lambda_initial 0 = cosine only", ge=0
    )
    lambda_switch: float = option(0.75, "switch after this fraction of the first epoch's iterations", ge=0, le=1)


def lambda_at(step: int, steps_per_epoch: float, cfg: LossConfig) -> float:
    """The CE weight at optimisation step ``step`` (0-based); ``steps_per_epoch`` may be ``inf`` (Lightning's
    count for a loader without a length)."""
    switch = cfg.lambda_switch * max(1, steps_per_epoch)
    return cfg.lambda_initial if step < switch else cfg.lambda_final


class DualLoss(nn.Module):
    """Returns named terms: ``{"loss", "ranking", "video_to_label", "label_to_video", "ce", "lambda"}``."""

    def __init__(self, cfg: LossConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(
        self,
        embedding: torch.Tensor,
        logits: torch.Tensor | None,
        labels: torch.Tensor,
        class_vectors: torch.Tensor,
        lam: float,
    ) -> dict[str, torch.Tensor]:
        """embedding (B, E), logits (B, C) or None, labels (B,), class_vectors (C, E), weight ``lam`` -> terms."""
        c = self.cfg
        terms = ranking_loss(embedding, labels, class_vectors, c.margin, c.mining, c.top_k, c.bidirectional)
        ranking = functools.reduce(operator.add, terms.values())  # terms holds at least "video_to_label"
        out = {"ranking": ranking, **terms}
        if logits is not None and lam > 0:
            out["ce"] = classification_loss(logits, labels, c.ce)
            out["loss"] = ranking + lam * out["ce"]
        else:
            out["loss"] = ranking
        out["lambda"] = torch.tensor(float(lam))
        return out
