"""Action2Vec: a crossmodal embedding of actions in video and the words that name them."""

from action2vec.errors import Action2VecError, ConfigError, DataError

__version__ = "0.1.0"

__all__ = ["Action2VecError", "ConfigError", "DataError", "__version__"]
