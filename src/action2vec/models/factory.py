"""Model registry: variants (architectures) x presets (sizes).

    create_model("hrnn_attention", preset="paper", input_dim=500, embed_dim=300, num_classes=51)
    list_models()   # ['hrnn', 'hrnn_attention', 'single_lstm', 'stacked_lstm']
    list_presets()  # ['cpu', 'paper', 'tiny']

Variants are the rows of the paper's ablation table; ``paper`` gives the paper's sizes (LSTM1 1024 units
with dropout 0.5, LSTM2 512, window 8), ``cpu`` a size fit for a laptop CPU, ``tiny`` one for tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Literal, TypeVar

from action2vec.config import check_ranges, option, to_dict
from action2vec.errors import ConfigError
from action2vec.models.networks import HRNN, EmbeddingNet, SequenceLSTM

Variant = Literal["hrnn_attention", "hrnn", "stacked_lstm", "single_lstm"]
T = TypeVar("T")


@dataclass
class ModelConfig:
    variant: Variant = option("hrnn_attention", "architecture: hrnn_attention (paper), hrnn, stacked_lstm, single_lstm")
    preset: str = option("paper", "size preset: paper, cpu or tiny; the fields below override it")
    lstm1_hidden: int | None = option(None, "LSTM1 units (the baselines' LSTM size)", ge=1)
    lstm2_hidden: int | None = option(None, "LSTM2 units", ge=1)
    dropout: float | None = option(None, "dropout after LSTM1", ge=0, lt=1)
    attention_dim: int | None = option(None, "size of the attention projection W_a", ge=1)
    attention_input: Literal["concat", "context"] = option(
        "concat", "LSTM step input with attention: [x_t, c_t] (concat) or c_t alone (context)"
    )
    window: int = option(8, "LSTM1 window length in steps (paper's 'filter length')", ge=1)
    window_stride: int = option(8, "steps between window starts, at most model.window (8: non-overlapping)", ge=1)
    classifier: bool = option(True, "classification head on the embedding (needed for the CE loss)")
    input_dim: int | None = option(None, "feature dimension (taken from the store when unset)", ge=1)
    embed_dim: int | None = option(None, "embedding dimension (taken from the label vectors when unset)", ge=1)


PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"lstm1_hidden": 1024, "lstm2_hidden": 512, "dropout": 0.5, "attention_dim": 256},
    "cpu": {"lstm1_hidden": 256, "lstm2_hidden": 128, "dropout": 0.5, "attention_dim": 64},
    "tiny": {"lstm1_hidden": 24, "lstm2_hidden": 16, "dropout": 0.0, "attention_dim": 8},
}


def resolved(value: T | None, key: str) -> T:
    """A size field of a resolved config (:func:`resolve_config` fills them from the preset; ``input_dim`` and
    ``embed_dim`` come from the data); ConfigError naming the key when it is unset."""
    if value is None:
        raise ConfigError(f"config key 'model.{key}' is not set (resolve_config fills it from the preset)")
    return value


def _hrnn(cfg: ModelConfig, num_classes: int, attention: bool) -> EmbeddingNet:
    return HRNN(
        resolved(cfg.input_dim, "input_dim"),
        resolved(cfg.embed_dim, "embed_dim"),
        num_classes,
        resolved(cfg.lstm1_hidden, "lstm1_hidden"),
        resolved(cfg.lstm2_hidden, "lstm2_hidden"),
        resolved(cfg.dropout, "dropout"),
        cfg.window,
        cfg.window_stride,
        attention,
        resolved(cfg.attention_dim, "attention_dim"),
        cfg.attention_input,
    )


def _lstm(cfg: ModelConfig, num_classes: int, layers: int) -> EmbeddingNet:
    return SequenceLSTM(
        resolved(cfg.input_dim, "input_dim"),
        resolved(cfg.embed_dim, "embed_dim"),
        num_classes,
        resolved(cfg.lstm1_hidden, "lstm1_hidden"),
        layers,
        resolved(cfg.dropout, "dropout"),
    )


_BUILDERS: dict[str, Callable[[ModelConfig, int], EmbeddingNet]] = {
    "hrnn_attention": lambda cfg, c: _hrnn(cfg, c, attention=True),
    "hrnn": lambda cfg, c: _hrnn(cfg, c, attention=False),
    "stacked_lstm": lambda cfg, c: _lstm(cfg, c, 2),
    "single_lstm": lambda cfg, c: _lstm(cfg, c, 1),
}


def list_models() -> list[str]:
    return sorted(_BUILDERS)


def list_presets() -> list[str]:
    return sorted(PRESETS)


def resolve_config(cfg: ModelConfig, prefix: str = "model") -> ModelConfig:
    """Fill the size fields left unset from the preset; check every range (ConfigError naming the key, under
    ``prefix``: e.g. ``run.model`` for the demo's config)."""
    if cfg.preset not in PRESETS:
        raise ConfigError(f"config key '{prefix}.preset': unknown preset {cfg.preset!r} (choose from {list_presets()})")
    if cfg.variant not in _BUILDERS:
        raise ConfigError(
            f"config key '{prefix}.variant': unknown variant {cfg.variant!r} (choose from {list_models()})"
        )
    filled = replace(cfg, **{k: v for k, v in PRESETS[cfg.preset].items() if getattr(cfg, k) is None})
    check_ranges(filled, prefix)
    if filled.window_stride > filled.window:
        raise ConfigError(
            f"config key '{prefix}.window_stride': {filled.window_stride} is larger than {prefix}.window "
            f"({filled.window}); windows would skip steps (must be <= {prefix}.window)"
        )
    return filled


def build_model(cfg: ModelConfig, num_classes: int = 0) -> EmbeddingNet:
    """A network from a config whose ``input_dim`` and ``embed_dim`` are set."""
    cfg = resolve_config(cfg)
    for key in ("input_dim", "embed_dim"):
        if not getattr(cfg, key) or getattr(cfg, key) < 1:
            raise ConfigError(f"config key 'model.{key}' must be a positive integer, got {getattr(cfg, key)!r}")
    return _BUILDERS[cfg.variant](cfg, num_classes if cfg.classifier else 0)


def create_model(
    name: str = "hrnn_attention", preset: str = "paper", num_classes: int = 0, **overrides: Any
) -> EmbeddingNet:
    """``create_model(variant, preset, num_classes, input_dim=..., embed_dim=..., **field_overrides)``."""
    known = set(to_dict(ModelConfig()))
    bad = sorted(set(overrides) - known)
    if bad:
        raise ConfigError(f"unknown model option(s) {bad} (valid: {sorted(known)})")
    return build_model(ModelConfig(variant=name, preset=preset, **overrides), num_classes)  # type: ignore[arg-type]
