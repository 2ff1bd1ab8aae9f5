"""Loss maths as functions of embeddings, testable without a model.

Pairwise ranking (hinge) on cosine similarity, in both directions. With video embeddings ``v_i``, their
class ``y_i`` and the unit label vectors ``t_c`` of the training classes, ``s(i, c) = cos(v_i, t_c)``:

* video -> label: anchor ``v_i``, positive ``t_{y_i}``, negatives every other class ``c``:
  ``[m - s(i, y_i) + s(i, c)]_+``
* label -> video: anchor ``t_{y_i}``, positive ``v_i``, negatives the batch videos ``j`` of other classes:
  ``[m - s(i, y_i) + s(j, y_i)]_+``

Mining: ``hardest`` keeps the largest violation per anchor (VSE++ max-violation), ``topk`` the mean of the
``k`` largest, ``all`` sums over every negative. The loss is the mean over anchors, summed over directions.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Mining = Literal["hardest", "topk", "all"]


def _reduce(violations: torch.Tensor, valid: torch.Tensor, mining: Mining, k: int) -> torch.Tensor:
    """violations (A, N) hinge values, valid (A, N) negatives mask -> per-anchor loss (A,)."""
    v = torch.where(valid, violations, torch.zeros_like(violations))
    if mining == "all":
        return v.sum(dim=1)
    if mining == "hardest":
        return v.max(dim=1).values
    if mining == "topk":
        k = max(1, min(k, v.shape[1]))
        top = v.topk(k, dim=1).values
        count = valid.sum(dim=1).clamp(min=1, max=k)
        return top.sum(dim=1) / count
    raise ValueError(f"unknown mining {mining!r}")


def ranking_loss(
    video_emb: torch.Tensor,
    labels: torch.Tensor,
    class_vectors: torch.Tensor,
    margin: float = 0.2,
    mining: Mining = "hardest",
    top_k: int = 5,
    bidirectional: bool = True,
) -> dict[str, torch.Tensor]:
    """video_emb (B, E), labels (B,) indices into class_vectors (C, E) -> {"video_to_label", "label_to_video"}."""
    v = F.normalize(video_emb.float(), dim=-1)
    t = F.normalize(class_vectors.float(), dim=-1)
    sim = v @ t.T  # (B, C)
    pos = sim.gather(1, labels[:, None])  # (B, 1) s(i, y_i)
    n_cls = t.shape[0]
    other_class = torch.ones_like(sim, dtype=torch.bool)
    other_class[torch.arange(len(labels), device=sim.device), labels] = False
    v2l = _reduce((margin - pos + sim).clamp(min=0), other_class, mining, top_k)
    out = {"video_to_label": v2l.mean() if n_cls > 1 else sim.new_zeros(())}
    if bidirectional:
        s_label = sim[:, labels].T  # (B anchors i, B videos j): s(j, y_i)
        diff_class = labels[None, :] != labels[:, None]  # (B, B)
        l2v = _reduce((margin - pos + s_label).clamp(min=0), diff_class, mining, top_k)
        out["label_to_video"] = l2v.mean()
    return out


def classification_loss(
    logits: torch.Tensor, labels: torch.Tensor, kind: Literal["sigmoid", "softmax"] = "sigmoid"
) -> torch.Tensor:
    """logits (B, C), labels (B,) -> scalar. ``sigmoid``: BCE on one-hot targets (paper); ``softmax``: CE."""
    if kind == "sigmoid":
        target = F.one_hot(labels, logits.shape[1]).to(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits.float(), target.float())
    if kind == "softmax":
        return F.cross_entropy(logits.float(), labels)
    raise ValueError(f"unknown classification loss {kind!r}")
