"""One identifier per evaluated method, used by the CLI, configs, JSON and file names; display titles
come from this table alone.

The first four are the model architectures of ``model.variant``; ``hrnn_cosine`` is the HRNN trained
with the ranking loss only; ``pooled_krr`` is the pooled-feature kernel-ridge-regression baseline (no
network). These are the rows of the paper's Table 1. ``pooled_match`` is the training-free row of
CLIP-style papers: a video's mean step feature against the class texts embedded by the same model's
text tower (``experiments/pooled_match.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Method", "METHODS", "method", "title"]


@dataclass(frozen=True)
class Method:
    """A row of the zero-shot table: how it is trained and how it is titled."""

    id: str
    title: str
    # training-config overrides (dotted keys) on top of the base RunConfig; None: not a trained network
    overrides: tuple[str, ...] | None


METHODS: dict[str, Method] = {
    m.id: m
    for m in (
        Method("hrnn_attention", "Action2Vec w/dual loss + attention", ("model.variant=hrnn_attention",)),
        Method("hrnn", "Action2Vec w/dual loss", ("model.variant=hrnn",)),
        Method(
            "hrnn_cosine",
            "Action2Vec w/only CosSim loss",
            ("model.variant=hrnn", "loss.lambda_initial=0", "loss.lambda_final=0"),
        ),
        Method("stacked_lstm", "Stacked LSTM w/dual loss", ("model.variant=stacked_lstm",)),
        Method("single_lstm", "Single LSTM w/dual loss", ("model.variant=single_lstm",)),
        Method("pooled_krr", "Pooled features + KRR (Laplacian)", None),
        Method("pooled_match", "Pooled features, text match (no training)", None),
    )
}


def method(method_id: str) -> Method:
    """The method of an identifier, or ConfigError listing the known ones."""
    from action2vec.errors import ConfigError

    try:
        return METHODS[method_id]
    except KeyError:
        raise ConfigError(f"unknown variant {method_id!r} (known: {', '.join(METHODS)})") from None


def title(method_id: str, transductive: bool = False) -> str:
    """Display title of a method (its identifier when unknown); `` (transductive)`` appended for results
    that used the unlabelled test videos."""
    m = METHODS.get(method_id)
    text = m.title if m else method_id
    return f"{text} (transductive)" if transductive else text
