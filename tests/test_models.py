"""Every registered variant trains (every parameter gets a finite, non-zero gradient), padding is inert.

Windows against a naive loop: test_model_windows.py; attention against the paper's equations:
test_attention_reference.py.
"""

import pytest
import torch

from action2vec.losses import DualLoss, LossConfig
from action2vec.models import create_model, list_models, list_presets
from action2vec.models.layers import lengths_to_mask


def _batch(b=5, t=21, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, d, generator=g)
    lengths = torch.tensor([21, 9, 1, 16, 8][:b])
    return x, lengths


# every variant once; the attention variant with both step inputs ([x_t, c_t] and the paper's c_t alone)
CASES = [(v, "concat") for v in list_models()] + [("hrnn_attention", "context")]


@pytest.mark.parametrize("variant,attention_input", CASES)
def test_every_parameter_gets_a_finite_nonzero_gradient(variant, attention_input):
    torch.manual_seed(0)
    net = create_model(variant, "tiny", num_classes=4, input_dim=12, embed_dim=6, attention_input=attention_input)
    x, lengths = _batch()
    x[~lengths_to_mask(lengths, x.shape[1])] = float("nan")  # padding may hold anything
    out = net(x, lengths)
    assert out["embedding"].shape == (5, 6) and out["logits"].shape == (5, 4)
    loss = DualLoss(LossConfig())(
        out["embedding"], out["logits"], torch.tensor([0, 1, 2, 3, 1]), torch.randn(4, 6), 1.0
    )
    loss["loss"].backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert missing == []
    not_finite = [n for n, p in net.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not_finite == []  # NaN != 0, so a NaN gradient would pass a non-zero check alone
    all_zero = [n for n, p in net.named_parameters() if not torch.any(p.grad != 0)]
    assert all_zero == []


@pytest.mark.parametrize("variant,attention_input", CASES)
def test_a_batch_of_one_step_videos_reaches_every_parameter(variant, attention_input):
    """Videos so short that an LSTM runs one step: every parameter is still in the graph (DDP refuses a step
    where one is not)."""
    torch.manual_seed(0)
    net = create_model(variant, "tiny", num_classes=4, input_dim=12, embed_dim=6, attention_input=attention_input)
    x, lengths = torch.randn(3, 1, 12), torch.ones(3, dtype=torch.long)
    out = net(x, lengths)
    DualLoss(LossConfig())(out["embedding"], out["logits"], torch.tensor([0, 1, 2]), torch.randn(4, 6), 1.0)[
        "loss"
    ].backward()
    assert [n for n, p in net.named_parameters() if p.grad is None] == []


@pytest.mark.parametrize("garbage", [1e3, float("nan"), -float("inf")])
@pytest.mark.parametrize("variant,attention_input", CASES)
def test_padding_does_not_change_embeddings(variant, attention_input, garbage):
    torch.manual_seed(0)
    net = create_model(
        variant, "tiny", num_classes=3, input_dim=12, embed_dim=6, attention_input=attention_input
    ).eval()
    x, lengths = _batch()
    with torch.no_grad():
        ref = net(x, lengths)["embedding"]
        # garbage in padded steps, and 11 extra padded steps (crossing a window boundary)
        noisy = x.clone()
        mask = lengths_to_mask(lengths, x.shape[1])
        noisy[~mask] = garbage
        longer = torch.cat([noisy, torch.full((5, 11, 12), garbage)], dim=1)
        out = net(longer, lengths)["embedding"]
        # each video alone, cut to its true length
        alone = torch.cat([net(x[i : i + 1, : lengths[i]], lengths[i : i + 1])["embedding"] for i in range(5)])
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone, ref, atol=1e-5, rtol=1e-5)


def test_attention_inputs_build_different_step_inputs():
    concat = create_model("hrnn_attention", "tiny", input_dim=12, embed_dim=6, attention_input="concat")
    context = create_model("hrnn_attention", "tiny", input_dim=12, embed_dim=6, attention_input="context")
    assert concat.lstm1.x_to_gates is not None and context.lstm1.x_to_gates is None
    assert context.lstm1.c_to_gates.bias is not None and concat.lstm1.c_to_gates.bias is None


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


@pytest.mark.parametrize(
    "key,value",
    [
        ("model.dropout", "1.0"),
        ("model.dropout", "-0.1"),
        ("model.lstm1_hidden", "0"),
        ("model.lstm2_hidden", "0"),
        ("model.attention_dim", "0"),
        ("model.window", "0"),
        ("model.window_stride", "0"),
        ("model.input_dim", "0"),
        ("model.embed_dim", "0"),
    ],
)
def test_model_ranges_are_declared_and_checked(key, value):
    from action2vec.config import load_config
    from action2vec.errors import ConfigError
    from action2vec.training import RunConfig

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(RunConfig, None, [f"{key}={value}"])
    with pytest.raises(ConfigError, match=key.split(".")[1]):  # the factory checks configs built in code too
        create_model("hrnn_attention", "tiny", **{"input_dim": 3, "embed_dim": 2, key.split(".")[1]: float(value)})
