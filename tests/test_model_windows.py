"""HRNN windows follow each video's own length: an embedding never depends on what it is batched with.

For every window/stride pair the config allows (window 1..9, stride 1..window), with and without attention
and for both attention inputs, a batch of videos of lengths 1..30 (garbage in the padded steps and extra
padding after the longest video) gives the same embeddings, to 1e-5, as each video run alone at its exact
length, and as a naive loop that cuts each video's windows one by one.
"""

import pytest
import torch

from action2vec.errors import ConfigError
from action2vec.models import HRNN, ModelConfig, build_model
from action2vec.models.layers import lengths_to_mask

MODES = [("attention", "concat"), ("attention", "context"), ("plain", "concat")]
PAIRS = [(w, s) for w in range(1, 10) for s in range(1, w + 1)]


def naive_windows(length: int, window: int, stride: int) -> list[tuple[int, int]]:
    """The (start, end) step ranges of a video alone: windows every ``stride`` steps until one reaches its end."""
    out, start = [], 0
    while True:
        out.append((start, min(start + window, length)))
        if start + window >= length:
            return out
        start += stride


def _net(window, stride, mode, input_mode, seed=0):
    torch.manual_seed(seed)
    return HRNN(
        5,
        4,
        0,
        lstm1_hidden=6,
        lstm2_hidden=5,
        dropout=0.0,
        window=window,
        window_stride=stride,
        attention=mode == "attention",
        attention_dim=3,
        attention_input=input_mode,
    ).eval()


def _lengths(window, stride, seed):
    """Lengths around the window boundaries of this pair, plus random ones in 1..30."""
    g = torch.Generator().manual_seed(seed)
    edges = {1, window, window + 1, window + stride - 1, window + stride, window + stride + 1, 2 * window + stride}
    rand = torch.randint(1, 31, (4,), generator=g).tolist()
    return [n for n in sorted(edges | set(rand)) if 1 <= n <= 30]


@pytest.mark.parametrize("mode,input_mode", MODES)
def test_alone_equals_batched_for_every_window_and_stride(mode, input_mode):
    mismatches = []
    for window, stride in PAIRS:
        net = _net(window, stride, mode, input_mode, seed=window * 10 + stride)
        lengths = torch.tensor(_lengths(window, stride, seed=window * 100 + stride))
        g = torch.Generator().manual_seed(window + 31 * stride)
        steps = int(lengths.max()) + 7  # padding after the longest video, crossing window boundaries
        x = torch.randn(len(lengths), steps, 5, generator=g)
        x[~lengths_to_mask(lengths, steps)] = 1e3  # garbage in every padded step
        with torch.no_grad():
            batched = net(x, lengths)["embedding"]
            reversed_batch = net(x.flip(0), lengths.flip(0))["embedding"].flip(0)
            alone = torch.cat([net(x[i : i + 1, :n], lengths[i : i + 1])["embedding"] for i, n in enumerate(lengths)])
        for name, got in (("batched", batched), ("reversed", reversed_batch)):
            err = float((got - alone).abs().max())
            if err > 1e-5:
                mismatches.append((window, stride, name, err))
    assert mismatches == []


@pytest.mark.parametrize("mode,input_mode", MODES)
def test_batched_windows_equal_a_naive_window_loop(mode, input_mode):
    for window, stride in PAIRS:
        net = _net(window, stride, mode, input_mode, seed=window * 7 + stride)
        lengths = torch.tensor(_lengths(window, stride, seed=window * 13 + stride))
        g = torch.Generator().manual_seed(window * 3 + stride)
        x = torch.randn(len(lengths), int(lengths.max()) + 3, 5, generator=g)
        with torch.no_grad():
            batched = net.encode_sequence(x, lengths)
            naive = []
            for i, n in enumerate(lengths.tolist()):
                outs = [
                    net.lstm1(x[i : i + 1, a:b], torch.ones(1, b - a, dtype=torch.bool))
                    for a, b in naive_windows(n, window, stride)
                ]
                seq = torch.cat(outs)[None]  # (1, W_i, H1)
                naive.append(net.lstm2(seq, torch.ones(1, seq.shape[1], dtype=torch.bool)))
        torch.testing.assert_close(
            batched, torch.cat(naive), atol=1e-5, rtol=1e-5, msg=f"window {window} stride {stride}"
        )


def test_window_counts_follow_the_naive_cut():
    for window, stride in PAIRS:
        net = _net(window, stride, "plain", "concat")
        lengths = torch.arange(1, 41)
        want = [len(naive_windows(n, window, stride)) for n in lengths.tolist()]
        assert [net.num_windows(n) for n in lengths.tolist()] == want, (window, stride)
        assert net.window_counts(lengths).tolist() == want, (window, stride)


def test_stride_longer_than_the_window_is_refused():
    with pytest.raises(ConfigError, match="model.window_stride"):
        build_model(ModelConfig(preset="tiny", window=4, window_stride=5, input_dim=3, embed_dim=2))
    with pytest.raises(ValueError, match="window_stride"):
        HRNN(3, 2, 0, window=4, window_stride=5)
