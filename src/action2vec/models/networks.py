"""Action2Vec networks: the hierarchical RNN (with or without attention) and LSTM baselines.

All networks map a padded batch of clip-feature sequences to an embedding in the label-vector space and,
optionally, to class logits::

    out = net(x, lengths)      # x: (B, T, D) float, lengths: (B,) long
    out["embedding"]           # (B, E)   not normalised
    out["logits"]              # (B, C)   or None without a classification head
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from action2vec.models.layers import AttentiveLSTM, lengths_to_mask


class EmbeddingNet(nn.Module):
    """Shared head: a sequence encoder's output -> FC to the label-vector space -> optional classifier."""

    def __init__(self, encoder_dim: int, embed_dim: int, num_classes: int) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.project = nn.Linear(encoder_dim, embed_dim)
        self.classifier = nn.Linear(embed_dim, num_classes) if num_classes > 0 else None

    def encode_sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """x (B, T, D), lengths (B,) -> the encoder's output (B, encoder_dim)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """x (B, T, D), lengths (B,) -> {"embedding": (B, E), "logits": (B, C) or None}."""
        lengths = lengths.to(device=x.device, dtype=torch.long).clamp(min=1)
        emb = self.project(self.encode_sequence(x, lengths))  # (B, E)
        logits = self.classifier(emb) if self.classifier is not None else None
        return {"embedding": emb, "logits": logits}


class HRNN(EmbeddingNet):
    """Hierarchical RNN: LSTM1 over windows of steps (shared weights, no state between windows), LSTM2
    over the window vectors. Windows are cut with ``unfold`` and run as one batch.

    A video of ``n`` steps gets windows starting at ``0, s, 2s, ...`` (``s = window_stride <= window``) up
    to the first one that reaches its last step (``start + window >= n``); the last window may be partly
    padded. The windows of each video follow its own length, never the batch's padded length, so its
    embedding does not depend on what it is batched with.
    """

    def __init__(
        self,
        input_dim: int,
        embed_dim: int,
        num_classes: int,
        lstm1_hidden: int = 1024,
        lstm2_hidden: int = 512,
        dropout: float = 0.5,
        window: int = 8,
        window_stride: int = 8,
        attention: bool = True,
        attention_dim: int = 256,
        attention_input: str = "concat",
    ) -> None:
        super().__init__(lstm2_hidden, embed_dim, num_classes)
        if window < 1 or not 1 <= window_stride <= window:
            raise ValueError(f"need window >= 1 and 1 <= window_stride <= window, got {window}, {window_stride}")
        self.window = window
        self.window_stride = window_stride
        self.lstm1 = AttentiveLSTM(input_dim, lstm1_hidden, attention, attention_dim, attention_input)
        self.dropout = nn.Dropout(dropout)
        self.lstm2 = AttentiveLSTM(lstm1_hidden, lstm2_hidden, attention, attention_dim, attention_input)

    def num_windows(self, steps: int) -> int:
        """Windows of a video of ``steps`` steps: ``max(1, ceil((steps - window) / stride) + 1)``."""
        return max(1, math.ceil((steps - self.window) / self.window_stride) + 1)

    def window_counts(self, lengths: torch.Tensor) -> torch.Tensor:
        """``num_windows`` of every video at once: lengths (B,) long -> (B,) long, on the same device."""
        over = lengths - self.window + self.window_stride - 1  # ceil(a / s) = floor((a + s - 1) / s), any sign
        return (torch.div(over, self.window_stride, rounding_mode="floor") + 1).clamp(min=1)

    def encode_sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, T, D), lengths (B,) -> (B, H2). Window j of video i is read iff j < num_windows(length_i)."""
        b, steps, d = x.shape
        w, s = self.window, self.window_stride
        lengths = lengths.clamp(max=steps)
        n_win = self.num_windows(steps)  # from the shape: no device sync; extra windows are masked below
        padded = (n_win - 1) * s + w
        mask = lengths_to_mask(lengths, steps)  # (B, T)
        x = F.pad(x, (0, 0, 0, padded - steps))  # (B, T', D), a new tensor
        mask = F.pad(mask, (0, padded - steps), value=False)  # (B, T')
        xw = x.unfold(1, w, s).permute(0, 1, 3, 2).reshape(b * n_win, w, d)  # (B*W, w, D)
        mw = mask.unfold(1, w, s).reshape(b * n_win, w)  # (B*W, w)
        h1 = self.lstm1(xw, mw)  # (B*W, H1)
        h1 = self.dropout(h1).view(b, n_win, -1)  # (B, W, H1)
        window_mask = lengths_to_mask(self.window_counts(lengths), n_win)  # (B, W)
        return self.lstm2(h1, window_mask)  # (B, H2)


class SequenceLSTM(EmbeddingNet):
    """Baseline: a (stacked) LSTM over the whole step sequence; its last valid state is the encoding."""

    def __init__(
        self,
        input_dim: int,
        embed_dim: int,
        num_classes: int,
        hidden: int = 1024,
        num_layers: int = 1,
        dropout: float = 0.5,
    ) -> None:
        super().__init__(hidden, embed_dim, num_classes)
        self.lstm = nn.LSTM(
            input_dim, hidden, num_layers=num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )
        self.dropout = nn.Dropout(dropout)

    def encode_sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, T, D), lengths (B,) -> last valid state of the top layer (B, H)."""
        lengths = lengths.clamp(max=x.shape[1])
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h: (layers, B, H), in the caller's order
        return self.dropout(h[-1])
