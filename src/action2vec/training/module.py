"""The Lightning module: the network, the dual loss, the lambda schedule and validation metrics.

Finite or stopped: before every optimiser step the loss and the gradient norm are checked (one host sync per
step); a NaN or inf stops training with :class:`TrainingDiverged`, naming the step and the settings that most
likely caused it, before the step reaches the weights. A checkpoint is never written with non-finite weights,
so the run's checkpoints stay usable; the model is not exported.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from action2vec.errors import Action2VecError
from action2vec.losses import DualLoss, LossConfig, lambda_at
from action2vec.models import ModelConfig, build_model
from action2vec.training.config import TrainConfig
from action2vec.training.data import ResumableLoader
from action2vec.training.manifold import manifold_loss


class TrainingDiverged(Action2VecError):
    """The loss, a gradient or a weight became NaN or inf; the message names the step and the likely setting."""


def likely_causes(train_cfg: TrainConfig) -> str:
    """The settings that most likely made training diverge, as text for the message."""
    t = train_cfg
    causes = []
    if t.lr >= 0.1:
        causes.append(f"train.lr={t.lr:g} is far too large (the default is {TrainConfig.lr:g})")
    if t.weight_decay >= 1:
        causes.append(f"train.weight_decay={t.weight_decay:g} is far too large")
    if not causes:
        causes.append(f"train.lr={t.lr:g} may be too large")
    if t.grad_clip == 0:
        causes.append("train.grad_clip=0 leaves gradients unclipped")
    if "16" in t.precision and "bf16" not in t.precision:
        causes.append(f"train.precision={t.precision} overflows easily")
    return "; ".join(causes)


def scalar_metrics(metrics: dict) -> dict[str, float]:
    """Lightning's logged metrics as plain floats (scalar tensors only)."""
    return {k: float(v) for k, v in metrics.items() if torch.is_tensor(v) and v.numel() == 1}


class Action2VecModule(L.LightningModule):
    """Trains an embedding network against fixed label vectors of the seen classes.

    Under data-parallel training the batch's embeddings, logits and labels are gathered from every process
    (with gradients) before the loss, so hard negatives are mined over the global batch and N processes with
    batch B/N follow the same trajectory as one process with batch B.
    """

    # buffers, registered in __init__ (class_vectors), set_feature_bank (bank_*) and set_unlabeled_bank
    class_vectors: torch.Tensor
    bank_x: torch.Tensor
    bank_lengths: torch.Tensor
    bank_labels: torch.Tensor
    unlabeled_x: torch.Tensor
    unlabeled_lengths: torch.Tensor
    unlabeled_neighbors: torch.Tensor

    def __init__(
        self,
        model_cfg: ModelConfig,
        loss_cfg: LossConfig,
        train_cfg: TrainConfig,
        class_vectors: torch.Tensor,
    ) -> None:
        super().__init__()
        self.model_cfg = model_cfg
        self.loss_cfg = loss_cfg
        self.train_cfg = train_cfg
        self.net = build_model(model_cfg, num_classes=class_vectors.shape[0])
        self.loss = DualLoss(loss_cfg)
        self.register_buffer("class_vectors", F.normalize(class_vectors.float(), dim=-1))
        self.manifold_weight = 0.0
        self.restored_metrics: dict[str, float] = {}  # the metrics a resumed checkpoint recorded
        self.manifold_batch = 0
        self.bank_steps_vary = False
        # The compiled training forward: a plain function, not a module, so the state dict keeps the network's
        # keys. Validation and export run the eager network.
        self.compiled_forward = (
            None
            if train_cfg.compile == "eager"
            else torch.compile(
                self.net.forward, mode=None if train_cfg.compile == "default" else train_cfg.compile, dynamic=False
            )
        )
        self._step_loss: torch.Tensor | None = None  # the current step's loss, checked before the optimiser step

    def _diverged(self, what: str) -> TrainingDiverged:
        return TrainingDiverged(
            f"training diverged at step {self.global_step + 1} (epoch {self.current_epoch + 1}): {what}; nothing was "
            f"exported. Likely cause: {likely_causes(self.train_cfg)}"
        )

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Stop before a non-finite loss or gradient reaches the weights (a fp16 scaler's overflow excepted)."""
        loss = self._step_loss
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        check_grads = bool(grads) and "16-mixed" not in str(self.trainer.precision).replace("bf16", "")
        norm = (
            torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
            if check_grads
            else None
        )
        values = [v for v in (loss, norm) if v is not None]
        if not values or bool(torch.isfinite(torch.stack([v.float() for v in values])).all()):
            return
        if loss is not None and not bool(torch.isfinite(loss)):
            raise self._diverged(f"the loss is {float(loss)}")
        assert norm is not None  # a value is not finite and it is not the loss
        raise self._diverged(f"the gradient norm is {float(norm)}")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Keep the run's scalar metrics in the checkpoint: a resume that has nothing left to train (killed after
        training, before its result was written) exports them instead of none. Weights that are no longer
        finite are never saved (TrainingDiverged instead), so every checkpoint can be resumed from."""
        for name, param in self.net.named_parameters():
            if not bool(torch.isfinite(param).all()):
                raise self._diverged(f"the weight {name} holds NaN or inf")
        checkpoint["action2vec_metrics"] = scalar_metrics(self.trainer.callback_metrics)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.restored_metrics = dict(checkpoint.get("action2vec_metrics", {}))

    @property
    def static_shapes(self) -> bool:
        """Whether training batches keep one shape (compiled forward): padded to a fixed number of steps."""
        return self.train_cfg.compile != "eager"

    def set_feature_bank(self, bank: dict[str, torch.Tensor]) -> None:
        """Training batches become index tensors into ``bank`` (moved to the device with the module)."""
        for name, tensor in bank.items():
            self.register_buffer(f"bank_{name}", tensor, persistent=False)
        # Cutting a batch to its longest video reads that length back from the device (a host sync); when
        # every video is as long as the bank, the cut is the whole bank and is skipped.
        self.bank_steps_vary = bool((bank["lengths"] < bank["x"].shape[1]).any())

    def set_unlabeled_bank(self, bank: dict[str, torch.Tensor], weight: float, batch_size: int) -> None:
        """Unlabelled videos (``x``, ``lengths``, ``neighbors``) for the transductive manifold term
        (:mod:`action2vec.training.manifold`), moved to the device with the module."""
        for name, tensor in bank.items():
            self.register_buffer(f"unlabeled_{name}", tensor, persistent=False)
        self.manifold_weight = float(weight)
        self.manifold_batch = int(batch_size)

    def manifold_term(self) -> torch.Tensor:
        """The manifold term on ``manifold_batch`` random unlabelled videos and one neighbour of each."""
        n, k = self.unlabeled_neighbors.shape
        device = self.unlabeled_neighbors.device
        idx = torch.randint(n, (self.manifold_batch,), device=device)
        pairs = torch.cat([idx, self.unlabeled_neighbors[idx, torch.randint(k, (len(idx),), device=device)]])
        lengths = self.unlabeled_lengths[pairs]
        emb = self.net(self.unlabeled_x[pairs, : int(lengths.max())], lengths)["embedding"]  # (2B, E)
        return manifold_loss(emb[: len(idx)], emb[len(idx) :])

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor | None]:
        return self.net(x, lengths)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # Dropout masks depend only on (seed, step, rank), so a resumed run repeats the same steps exactly.
        torch.manual_seed((self.train_cfg.seed * 1_000_003 + self.global_step) * 1_009 + self.global_rank)

    def _gather(self, t: torch.Tensor) -> torch.Tensor:
        if self.trainer.world_size <= 1:
            return t
        gathered = self.all_gather(t, sync_grads=t.requires_grad)
        if not isinstance(gathered, torch.Tensor):
            raise TypeError(f"all_gather of a tensor returned {type(gathered).__name__}")
        return gathered.flatten(0, 1)

    def _train_forward(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor | None]:
        if self.compiled_forward is None:
            return self.net(x, lengths)
        if self.train_cfg.compile == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()  # a new step: the last step's graph outputs are done with
        return self.compiled_forward(x, lengths)

    def _bank_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Indices (B,) into the feature bank -> x (B, T, D), lengths (B,), labels (B,)."""
        lengths = self.bank_lengths[idx]
        if self.bank_steps_vary and not self.static_shapes:
            return self.bank_x[idx, : int(lengths.max())], lengths, self.bank_labels[idx]
        return self.bank_x[idx], lengths, self.bank_labels[idx]

    def training_step(self, batch: tuple[torch.Tensor, ...] | torch.Tensor, batch_idx: int) -> torch.Tensor:
        if isinstance(batch, torch.Tensor):  # indices into the device-resident feature bank
            x, lengths, labels = self._bank_batch(batch)
        else:
            x, lengths, labels = batch  # (B, T, D), (B,), (B,)
        loader = self.trainer.train_dataloader
        if isinstance(loader, ResumableLoader):
            loader.consumed = batch_idx + 1  # read by the checkpoint saved after this step
        out = self._train_forward(x, lengths)
        embedding = out["embedding"]
        if embedding is None:
            raise TypeError(f"{type(self.net).__name__} returned no embedding")
        emb, logits = self._gather(embedding), out["logits"]
        logits = self._gather(logits) if logits is not None else None
        labels = self._gather(labels)
        lam = lambda_at(self.global_step, self.trainer.num_training_batches, self.loss_cfg)
        terms = self.loss(emb, logits, labels, self.class_vectors, lam)
        if self.manifold_weight > 0:
            terms["manifold"] = self.manifold_term()
            terms["loss"] = terms["loss"] + self.manifold_weight * terms["manifold"]
        self.log_dict(
            {f"train/{k}": v.detach().float() for k, v in terms.items()},
            on_step=True,
            on_epoch=True,
            batch_size=len(labels),
            prog_bar=False,
        )
        self.log("loss", terms["loss"].detach(), prog_bar=True, on_step=True, on_epoch=False, logger=False)
        self._step_loss = terms["loss"].detach()
        return terms["loss"]

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        x, lengths, labels = batch
        out = self.net(x, lengths)
        sim = F.normalize(out["embedding"].float(), dim=-1) @ self.class_vectors.T  # (B, C)
        acc = (sim.argmax(-1) == labels).float().mean()
        metrics = {"val/acc": acc}
        if out["logits"] is not None:
            metrics["val/acc_classifier"] = (out["logits"].argmax(-1) == labels).float().mean()
        terms = self.loss(out["embedding"], out["logits"], labels, self.class_vectors, self.loss_cfg.lambda_final)
        metrics["val/loss"] = terms["loss"]
        self.log_dict(metrics, on_epoch=True, prog_bar=True, batch_size=len(labels), sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.train_cfg.lr, weight_decay=self.train_cfg.weight_decay)
