"""Training on feature stores with PyTorch Lightning (single process, DDP, torchrun)."""

from action2vec.run_folder import TrainResult, read_training_log
from action2vec.training.config import DataConfig, RunConfig, TrainConfig
from action2vec.training.fit import fit

__all__ = ["DataConfig", "RunConfig", "TrainConfig", "TrainResult", "fit", "read_training_log"]
