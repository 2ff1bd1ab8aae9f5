"""AttentiveLSTM against a naive, step-by-step reading of the paper's equations, with the module's own weights.

At step t of a sequence x_1..x_L (valid steps only):

    e_j   = w^T tanh(W_a x_j + U_a h_{t-1} + b_a)        for every valid j
    alpha = softmax(e)                                   c_t = sum_j alpha_j x_j
    z     = W [x_t; c_t] + W_hh h_{t-1} + b              (concat)   or   W c_t + W_hh h_{t-1} + b  (context)
    i, f, g, o = z split in four;  c = s(f) c + s(i) tanh(g);  h = s(o) tanh(c)

Written with Python loops over positions, in float64, on the unpadded sequence; the module runs on a padded
batch with garbage in the padding.
"""

import pytest
import torch

from action2vec.models.layers import AttentiveLSTM, lengths_to_mask


def reference_attentive_lstm(mod: AttentiveLSTM, x: torch.Tensor, input_mode: str) -> torch.Tensor:
    """x (L, D) valid steps of one sequence -> last hidden state (H,)."""
    hid = mod.hidden_dim
    w_hh, u_a = mod.h_proj.weight[: 4 * hid], mod.h_proj.weight[4 * hid :]
    h, c = x.new_zeros(hid), x.new_zeros(hid)
    for t in range(x.shape[0]):
        if mod.attention is None:
            step_in, w_in, bias = x[t], mod.x_to_gates.weight, mod.x_to_gates.bias
        else:
            att = mod.attention
            e = torch.stack(
                [
                    att.score.weight[0] @ torch.tanh(att.key.weight @ x[j] + u_a @ h + att.key.bias)
                    for j in range(x.shape[0])
                ]
            )
            alpha = torch.exp(e - e.max()) / torch.exp(e - e.max()).sum()
            ctx = sum(alpha[j] * x[j] for j in range(x.shape[0]))
            if input_mode == "concat":
                step_in = torch.cat([x[t], ctx])
                w_in = torch.cat([mod.x_to_gates.weight, mod.c_to_gates.weight], dim=1)
                bias = mod.x_to_gates.bias
            else:
                step_in, w_in, bias = ctx, mod.c_to_gates.weight, mod.c_to_gates.bias
        z = w_in @ step_in + w_hh @ h + bias
        i, f, g, o = z[:hid], z[hid : 2 * hid], z[2 * hid : 3 * hid], z[3 * hid :]
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    return h


@pytest.mark.parametrize("attention,input_mode", [(True, "concat"), (True, "context"), (False, "concat")])
def test_attentive_lstm_equals_the_paper_equations(attention, input_mode):
    torch.manual_seed(0)
    mod = AttentiveLSTM(5, 6, attention=attention, attn_dim=4, input_mode=input_mode).double()
    with torch.no_grad():
        for p in mod.parameters():  # large enough weights that every term moves the result visibly
            p.normal_(0.0, 0.8)
    lengths = torch.tensor([7, 1, 4, 6])
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 9, 5, generator=g, dtype=torch.float64)
    mask = lengths_to_mask(lengths, 9)
    x_garbage = torch.where(mask[..., None], x, torch.full_like(x, 50.0))
    with torch.no_grad():
        got = mod(x_garbage, mask)  # (4, 6)
        want = torch.stack([reference_attentive_lstm(mod, x[i, :n], input_mode) for i, n in enumerate(lengths)])
    torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("input_mode", ["concat", "context"])
def test_attention_weights_follow_the_lstm_state(input_mode):
    """The keys W_a x_j are the same at every step; only U_a h_{t-1} moves alpha from step to step."""
    torch.manual_seed(2)
    mod = AttentiveLSTM(5, 6, attention=True, attn_dim=4, input_mode=input_mode)
    with torch.no_grad():
        for p in mod.parameters():
            p.normal_(0.0, 0.8)
    alphas = []
    hook = mod.attention.register_forward_hook(lambda m, args, out: alphas.append(out[1].detach().clone()))
    x = torch.randn(2, 6, 5, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        mod(x, torch.ones(2, 6, dtype=torch.bool))
    hook.remove()
    assert len(alphas) == 6
    for t in range(1, 6):  # h_{t-1} != h_0 = 0, so the weights differ from the first step's
        assert (alphas[t] - alphas[0]).abs().max() > 1e-3, t
    # the attention itself: the same keys with two different queries give different weights
    keys = mod.attention.keys(x)
    q1, q2 = torch.randn(2, 4), torch.randn(2, 4)
    a1 = mod.attention(x, keys, q1, torch.ones(2, 6, dtype=torch.bool))[1]
    a2 = mod.attention(x, keys, q2, torch.ones(2, 6, dtype=torch.bool))[1]
    assert (a1 - a2).abs().max() > 1e-3
