"""Every registered variant trains (all parameters get a gradient), padding is inert, windows batch exactly."""

import pytest
import torch

from action2vec.losses import DualLoss, LossConfig
from action2vec.models import HRNN, create_model, list_models, list_presets
from action2vec.models.layers import lengths_to_mask


def _batch(b=5, t=21, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, d, generator=g)
    lengths = torch.tensor([21, 9, 1, 16, 8][:b])
    return x, lengths


@pytest.mark.parametrize("variant", list_models())
def test_every_parameter_gets_a_gradient(variant):
    torch.manual_seed(0)
    net = create_model(variant, "tiny", num_classes=4, input_dim=12, embed_dim=6)
    x, lengths = _batch()
    out = net(x, lengths)
    assert out["embedding"].shape == (5, 6) and out["logits"].shape == (5, 4)
    loss = DualLoss(LossConfig())(out["embedding"], out["logits"], torch.tensor([0, 1, 2, 3, 1]), torch.randn(4, 6), 1.0)
    loss["loss"].backward()
    no_grad = [n for n, p in net.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert no_grad == []


@pytest.mark.parametrize("variant", list_models())
def test_padding_does_not_change_embeddings(variant):
    torch.manual_seed(0)
    net = create_model(variant, "tiny", num_classes=3, input_dim=12, embed_dim=6).eval()
    x, lengths = _batch()
    with torch.no_grad():
        ref = net(x, lengths)["embedding"]
        # garbage in padded steps, and 11 extra padded steps (crossing a window boundary)
        noisy = x.clone()
        mask = lengths_to_mask(lengths, x.shape[1])
        noisy[~mask] = 1e3
        longer = torch.cat([noisy, torch.full((5, 11, 12), -7.0)], dim=1)
        out = net(longer, lengths)["embedding"]
        # each video alone, cut to its true length
        alone = torch.cat([net(x[i : i + 1, : lengths[i]], lengths[i : i + 1])["embedding"] for i in range(5)])
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("window,stride", [(8, 8), (8, 6), (4, 4), (5, 3)])
def test_batched_windows_equal_a_naive_loop(window, stride):
    torch.manual_seed(0)
    net = HRNN(12, 6, 3, lstm1_hidden=10, lstm2_hidden=7, dropout=0.0, window=window, window_stride=stride,
               attention=True, attention_dim=5).eval()
    x, lengths = _batch(t=23)
    with torch.no_grad():
        batched = net.encode_sequence(x, lengths)
        naive = []
        for i in range(x.shape[0]):
            n = int(lengths[i])
            outs = []
            for start in range(0, n, stride):  # one window per start inside the true length
                win = x[i, start : min(start + window, n)]
                outs.append(net.lstm1(win[None], torch.ones(1, win.shape[0], dtype=torch.bool)))
            seq = torch.cat(outs)[None]
            naive.append(net.lstm2(seq, torch.ones(1, seq.shape[1], dtype=torch.bool)))
        naive = torch.cat(naive)
    torch.testing.assert_close(batched, naive, atol=1e-5, rtol=1e-5)


def test_output_dim_follows_labels_and_presets_exist():
    assert {"paper", "tiny"} <= set(list_presets())
    assert set(list_models()) == {"hrnn_attention", "hrnn", "stacked_lstm", "single_lstm"}
    paper = create_model("hrnn_attention", "paper", num_classes=2, input_dim=500, embed_dim=300)
    assert paper.lstm1.hidden_dim == 1024 and paper.lstm2.hidden_dim == 512 and paper.project.out_features == 300
    assert paper.dropout.p == 0.5


def test_unknown_model_option_is_named():
    from action2vec.errors import ConfigError

    with pytest.raises(ConfigError, match="hiden"):
        create_model("hrnn", "tiny", input_dim=3, embed_dim=2, hiden=3)
    with pytest.raises(ConfigError, match="preset"):
        create_model("hrnn", "huge", input_dim=3, embed_dim=2)
