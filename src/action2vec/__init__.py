"""Action2Vec: a crossmodal embedding of actions in video and the words that name them.

``from action2vec import Action2Vec`` loads the inference class on first use only, so ``import action2vec``
stays light (no torch, no Lightning).
"""

from typing import TYPE_CHECKING, Any

from action2vec.errors import Action2VecError, ConfigError, DataError

if TYPE_CHECKING:
    from action2vec.inference import Action2Vec

# The one place the version is written: pyproject.toml reads it (dynamic version), `action2vec --version` prints it.
__version__ = "0.1.0"

__all__ = ["Action2Vec", "Action2VecError", "ConfigError", "DataError", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Action2Vec":
        from action2vec.inference import Action2Vec

        return Action2Vec
    raise AttributeError(f"module 'action2vec' has no attribute {name!r}")
