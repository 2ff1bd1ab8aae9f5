"""Building blocks: soft attention (Bahdanau et al.) and a masked, attentive LSTM.

Soft attention, as in the paper: at step t, over the positions j of the sequence it attends,

    e_j = w^T tanh(W_a x_j + U_a h_{t-1} + b_a),   alpha = softmax(e) over valid j,   c_t = sum_j alpha_j x_j

Padded positions get no weight, padded steps leave the LSTM state unchanged and are zeroed on entry, so
padding (whatever it holds, NaN included) never changes the output or the gradients.
"""

from __future__ import annotations

import torch
from torch import nn


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Boolean mask (B, max_len), True on valid steps, made on ``lengths``' device."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps[None, :] < lengths[:, None]


def lstm_cell(
    gates: torch.Tensor, h: torch.Tensor, c: torch.Tensor, step_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM state update from the summed gate pre-activations, PyTorch's gate order ``[i, f, g, o]``.

    gates (N, 4H), h and c (N, H), step_mask (N,) bool -> new (h, c); rows whose step is padding keep their
    state. Everything after the gate matmuls is here, in one function of elementwise ops, so that a compiled
    network (``train.compile``) fuses it into one kernel forward and one backward instead of about ten
    launches each per step; eager runs it op by op.
    """
    i, f, g, o = gates.chunk(4, dim=-1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(c_new)
    m = step_mask[:, None]
    return torch.where(m, h_new, h), torch.where(m, c_new, c)


class SoftAttention(nn.Module):
    """Additive attention over a (N, L, D) sequence, queried by an LSTM state projection."""

    def __init__(self, input_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.key = nn.Linear(input_dim, attn_dim)  # W_a x_j + b_a
        self.score = nn.Linear(attn_dim, 1, bias=False)  # w^T

    def keys(self, x: torch.Tensor) -> torch.Tensor:
        """Project the sequence once per forward. x: (N, L, D) -> (N, L, A)."""
        return self.key(x)

    def forward(
        self, x: torch.Tensor, keys: torch.Tensor, query: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, L, D), keys (N, L, A), query = U_a h (N, A), mask (N, L) -> context (N, D), alpha (N, L)."""
        e = self.score(torch.tanh(keys + query[:, None, :])).squeeze(-1)  # (N, L)
        e = e.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(e, dim=-1)
        alpha = torch.where(mask, alpha, torch.zeros_like(alpha))  # rows with no valid step: all zero
        context = torch.bmm(alpha.unsqueeze(1), x).squeeze(1)  # (N, D)
        return context, alpha


class AttentiveLSTM(nn.Module):
    """A single-layer LSTM over (N, L, D) that can attend to its whole input at every step.

    With attention the step input is ``[x_t, c_t]`` (``input_mode="concat"``, default) or ``c_t`` alone
    (``"context"``, the paper's literal reading); without attention it is ``x_t``. The input-to-gate
    projection of ``x`` is one matmul over all steps; the state projection for the gates and the
    attention query share one matmul per step.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        attention: bool = True,
        attn_dim: int = 128,
        input_mode: str = "concat",
    ) -> None:
        super().__init__()
        if input_mode not in ("concat", "context"):
            raise ValueError(f"input_mode must be 'concat' or 'context', got {input_mode!r}")
        self.hidden_dim = hidden_dim
        self.attention = SoftAttention(input_dim, attn_dim) if attention else None
        self.use_x = not attention or input_mode == "concat"
        self.x_to_gates = nn.Linear(input_dim, 4 * hidden_dim) if self.use_x else None
        self.c_to_gates = nn.Linear(input_dim, 4 * hidden_dim, bias=not self.use_x) if attention else None
        self.attn_dim = attn_dim if attention else 0
        self.h_proj = nn.Linear(hidden_dim, 4 * hidden_dim + self.attn_dim, bias=False)  # [W_hh; U_a]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (N, L, D), mask (N, L) bool -> last valid hidden state (N, H) (zeros if no valid step)."""
        n, steps, _ = x.shape
        # padded steps may hold anything (NaN, inf): zero them, or 0 * NaN would reach the output and the
        # weight gradients even though their attention weights and state updates are masked
        x = x.masked_fill(~mask[..., None], 0.0)  # (N, L, D), a new tensor
        h = x.new_zeros(n, self.hidden_dim)
        c = x.new_zeros(n, self.hidden_dim)
        # unbind (not xg[:, t]): its backward stacks the step gradients once instead of one full-size
        # zero tensor per step
        xg = self.x_to_gates(x).unbind(1) if self.x_to_gates is not None else None  # L x (N, 4H)
        keys = self.attention.keys(x) if self.attention is not None else None  # (N, L, A)
        step_masks = mask.unbind(1)  # L x (N,)
        four_h = 4 * self.hidden_dim
        for t in range(steps):
            if t == 0 and steps > 1:  # h = 0: the state projection is zero, skip its matmul (not for a single
                # step, where it would then be the only one and leave [W_hh; U_a] out of the graph, which DDP refuses)
                gates = xg[0] if xg is not None else x.new_zeros(n, four_h)
                query = x.new_zeros(n, self.attn_dim)
            else:
                hp = self.h_proj(h)  # (N, 4H + A)
                gates = hp[:, :four_h] if xg is None else hp[:, :four_h] + xg[t]
                query = hp[:, four_h:]
            if self.attention is not None and self.c_to_gates is not None:  # both or neither (see __init__)
                ctx, _ = self.attention(x, keys, query, mask)
                gates = (
                    torch.addmm(gates, ctx, self.c_to_gates.weight.T)
                    if self.c_to_gates.bias is None
                    else gates + self.c_to_gates(ctx)
                )
            h, c = lstm_cell(gates, h, c, step_masks[t])
        return h
