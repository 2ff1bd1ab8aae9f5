"""The ranking loss against a naive double loop; the CE forms; the lambda schedule."""

import math

import pytest
import torch
import torch.nn.functional as F

from action2vec.losses import DualLoss, LossConfig, classification_loss, lambda_at, ranking_loss


def naive_ranking(v, y, t, margin, mining, k):
    v = F.normalize(v, dim=-1)
    t = F.normalize(t, dim=-1)
    cos = lambda a, b: float((a * b).sum())  # noqa: E731

    def reduce(viol):
        if not viol:
            return 0.0
        if mining == "all":
            return sum(viol)
        if mining == "hardest":
            return max(viol)
        top = sorted(viol, reverse=True)[:k]
        return sum(top) / len(top)

    v2l, l2v = [], []
    for i in range(len(y)):
        pos = cos(v[i], t[y[i]])
        v2l.append(reduce([max(0.0, margin - pos + cos(v[i], t[c])) for c in range(len(t)) if c != y[i]]))
        l2v.append(reduce([max(0.0, margin - pos + cos(v[j], t[y[i]])) for j in range(len(y)) if y[j] != y[i]]))
    return sum(v2l) / len(v2l), sum(l2v) / len(l2v)


@pytest.mark.parametrize("mining", ["hardest", "topk", "all"])
def test_ranking_equals_naive_double_loop(mining):
    g = torch.Generator().manual_seed(1)
    v = torch.randn(9, 5, generator=g)
    t = torch.randn(6, 5, generator=g)
    y = torch.tensor([0, 1, 1, 2, 5, 5, 5, 3, 0])
    got = ranking_loss(v, y, t, margin=0.3, mining=mining, top_k=3)
    want = naive_ranking(v, y.tolist(), t, 0.3, mining, 3)
    assert got["video_to_label"].item() == pytest.approx(want[0], abs=1e-5)
    assert got["label_to_video"].item() == pytest.approx(want[1], abs=1e-5)
    assert want[0] > 0 and want[1] > 0  # the test exercises violations


def test_perfect_embeddings_have_zero_ranking_loss():
    t = torch.eye(4)
    y = torch.tensor([0, 1, 2, 3, 2])
    got = ranking_loss(t[y] * 3.0, y, t, margin=0.2)
    assert got["video_to_label"].item() == 0.0 and got["label_to_video"].item() == 0.0


def test_classification_losses():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
    y = torch.tensor([0, 2])
    target = torch.tensor([[1.0, 0, 0], [0, 0, 1.0]])
    manual = -(target * torch.log(torch.sigmoid(logits)) + (1 - target) * torch.log(1 - torch.sigmoid(logits))).mean()
    assert classification_loss(logits, y, "sigmoid").item() == pytest.approx(manual.item(), rel=1e-6)
    soft = -torch.log_softmax(logits, -1)[torch.arange(2), y].mean()
    assert classification_loss(logits, y, "softmax").item() == pytest.approx(soft.item(), rel=1e-6)


def test_lambda_schedule_paper_default():
    cfg = LossConfig()
    steps = 100
    assert [lambda_at(s, steps, cfg) for s in (0, 74)] == [1.0, 1.0]
    assert [lambda_at(s, steps, cfg) for s in (75, 99, 100, 5000)] == [0.02] * 4
    odd = LossConfig(lambda_initial=0.5, lambda_final=0.1, lambda_switch=0.5)
    assert lambda_at(math.ceil(0.5 * 7) - 1, 7, odd) == 0.5 and lambda_at(4, 7, odd) == 0.1


@pytest.mark.parametrize("steps_per_epoch", [1, 2, 7, 100])
@pytest.mark.parametrize("switch", [0.0, 0.3, 0.75, 1.0])
def test_lambda_schedule_switches_once_within_the_first_epoch(steps_per_epoch, switch):
    cfg = LossConfig(lambda_initial=0.8, lambda_final=0.1, lambda_switch=switch)
    for step in range(4 * steps_per_epoch):  # four epochs: the switch never comes back
        want = 0.8 if step < switch * steps_per_epoch else 0.1
        assert lambda_at(step, steps_per_epoch, cfg) == want, (step, steps_per_epoch, switch)


@pytest.mark.parametrize(
    "key,value",
    [
        ("margin", -0.1),
        ("top_k", 0),
        ("lambda_initial", -1),
        ("lambda_final", -0.5),
        ("lambda_switch", 1.5),
        ("lambda_switch", -0.1),
    ],
)
def test_loss_ranges_are_declared_and_checked(key, value):
    from action2vec.config import load_config
    from action2vec.errors import ConfigError
    from action2vec.training import RunConfig

    with pytest.raises(ConfigError, match=rf"loss\.{key}"):
        load_config(RunConfig, None, [f"loss.{key}={value}"])


def test_dual_loss_terms_and_cosine_only_ablation():
    g = torch.Generator().manual_seed(0)
    emb, logits = torch.randn(4, 3, generator=g), torch.randn(4, 5, generator=g)
    y, t = torch.tensor([0, 1, 4, 4]), torch.randn(5, 3, generator=g)
    full = DualLoss(LossConfig())(emb, logits, y, t, 0.02)
    assert set(full) >= {"loss", "ranking", "ce", "video_to_label", "label_to_video"}
    assert full["loss"].item() == pytest.approx(full["ranking"].item() + 0.02 * full["ce"].item(), rel=1e-6)
    cos_only = DualLoss(LossConfig(lambda_initial=0.0, lambda_final=0.0))(emb, logits, y, t, 0.0)
    assert "ce" not in cos_only and cos_only["loss"].item() == pytest.approx(full["ranking"].item())
