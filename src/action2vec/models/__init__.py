"""Models: the hierarchical RNN with soft attention and the ablation baselines."""

from action2vec.models.factory import (
    PRESETS,
    ModelConfig,
    build_model,
    create_model,
    list_models,
    list_presets,
    resolve_config,
)
from action2vec.models.networks import HRNN, EmbeddingNet, SequenceLSTM

__all__ = [
    "PRESETS",
    "ModelConfig",
    "build_model",
    "create_model",
    "list_models",
    "list_presets",
    "resolve_config",
    "HRNN",
    "EmbeddingNet",
    "SequenceLSTM",
]
