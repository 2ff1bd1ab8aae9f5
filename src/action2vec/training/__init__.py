"""Training on feature stores with PyTorch Lightning (single process, DDP, torchrun)."""

from action2vec.training.config import DataConfig, RunConfig, TrainConfig
from action2vec.training.fit import TrainResult, fit
from action2vec.training.logs import read_training_log

__all__ = ["DataConfig", "RunConfig", "TrainConfig", "TrainResult", "fit", "read_training_log"]
