"""``fit()``: train an Action2Vec model on a feature store and export a shareable model folder.

Run folder layout::

    RUN_DIR/config.yaml                   the final config (every default filled in)
    RUN_DIR/checkpoints/last.ckpt         Lightning checkpoint for exact resume
    RUN_DIR/logs/csv/version_*/metrics.csv, RUN_DIR/logs/tensorboard/   training curves
    RUN_DIR/model/                        the shareable model (see action2vec.training.export)
    RUN_DIR/result.json                   final metrics and the train/val video keys
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from action2vec.config import save_config, to_dict
from action2vec.distributed import process_layout
from action2vec.errors import ConfigError, DataError
from action2vec.models import resolve_config
from action2vec.training.config import RunConfig
from action2vec.training.data import (
    IndexDataset,
    ResumableLoader,
    SequenceDataset,
    SkippableSampler,
    bank_fits_device,
    collate_indices,
    collate_sequences,
    feature_bank,
    should_load_in_memory,
    stratified_holdout,
)

log = logging.getLogger(__name__)

# Keys that may change when a run is resumed (more epochs, another machine).
_RESUMABLE_CHANGES = {
    "train.epochs", "train.num_workers", "train.devices", "train.num_nodes", "train.accelerator",
    "train.strategy", "train.progress_bar", "train.log_every_n_steps", "train.resume", "data.store",
}


@dataclass
class TrainResult:
    run_dir: Path
    model_dir: Path
    classes: list[str]
    metrics: dict[str, float] = field(default_factory=dict)
    train_keys: list[str] = field(default_factory=list)
    val_keys: list[str] = field(default_factory=list)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _check_same_run(path: Path, cfg: RunConfig) -> None:
    import yaml

    old = _flatten(yaml.safe_load(path.read_text()) or {})
    new = _flatten(to_dict(cfg))
    for key in sorted(set(old) | set(new)):
        if key not in _RESUMABLE_CHANGES and old.get(key) != new.get(key):
            raise ConfigError(
                f"{path.parent} holds a run with {key}={old.get(key)!r}, this one asks for {new.get(key)!r}; "
                "use another output folder"
            )


def _resolve_classes(cfg: RunConfig, store, train_keys: Sequence[str] | None) -> list[str]:
    classes = list(cfg.data.classes or [])
    if cfg.data.classes_file:
        p = Path(cfg.data.classes_file)
        if not p.is_file():
            raise DataError(f"classes file not found: {p}")
        from_file = [ln.strip() for ln in p.read_text().splitlines() if ln.strip()]
        if not from_file:  # an empty file given on purpose must not mean "every class"
            raise DataError(f"{p}: the classes file (data.classes_file) lists no class")
        classes += from_file
    if not classes and train_keys is not None:
        classes = sorted({store.labels[store.index_of(k)] for k in train_keys})
    if not classes:
        classes = store.classes
    classes = sorted(dict.fromkeys(classes))
    known = set(store.classes)
    unknown = [c for c in classes if c not in known]
    if unknown:
        raise DataError(f"{store.path}: no videos of training class(es) {unknown[:5]}")
    if len(classes) < 2:
        raise DataError(f"{store.path}: training needs at least 2 labelled classes, found {len(classes)}")
    return classes


def _precision(cfg_precision: str, accelerator: str) -> str:
    if cfg_precision != "auto":
        return cfg_precision
    if accelerator != "cpu" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def _distributed_settings(cfg: RunConfig) -> dict[str, Any]:
    """Trainer arguments; under torchrun the process layout comes from its environment."""
    from lightning.pytorch.strategies import DDPStrategy

    t = cfg.train
    devices: Any = int(t.devices) if str(t.devices).isdigit() else t.devices
    num_nodes = t.num_nodes
    strategy: Any = t.strategy
    accelerator = t.accelerator
    layout = process_layout()
    world = layout.world_size
    if layout.torchrun or layout.distributed:
        if devices == "auto":
            devices = layout.local_world_size
        num_nodes = layout.num_nodes
    use_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if strategy == "auto" and (world > 1 or (isinstance(devices, int) and devices > 1)):
        strategy = DDPStrategy(process_group_backend="gloo" if use_cpu else "nccl")
    if use_cpu:
        accelerator = "cpu"
    return {"accelerator": accelerator, "devices": devices, "num_nodes": num_nodes, "strategy": strategy,
            "precision": _precision(t.precision, accelerator)}


def fit(
    cfg: RunConfig,
    run_dir: str | Path,
    *,
    store=None,
    label_vectors=None,
    train_keys: Sequence[str] | None = None,
    val_keys: Sequence[str] | None = None,
    callbacks: list | None = None,
) -> TrainResult:
    """Train on the seen classes and export ``run_dir/model``; resumes an interrupted run in ``run_dir``.

    ``train_keys`` / ``val_keys`` select videos explicitly (the zero-shot runner passes seen-class videos
    only); otherwise the classes of ``cfg.data`` (default: all) are split by ``cfg.data.val_fraction``.
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from torch.utils.data import DataLoader, DistributedSampler

    from action2vec.store import open_store
    from action2vec.training.checkpoints import LAST, SignalCheckpoint, resume_checkpoint, set_aside, stop_gracefully
    from action2vec.training.export import export_model
    from action2vec.training.module import Action2VecModule

    run_dir = Path(run_dir)
    if store is None:
        if not cfg.data.store:
            raise ConfigError("config key 'data.store' is empty: give the feature store to train on")
        store = open_store(cfg.data.store, cfg.data.annotations or None)
    if len(store) == 0:
        raise DataError(f"{store.path}: the store holds no videos")
    classes = _resolve_classes(cfg, store, train_keys)
    class_set = set(classes)

    # ---- videos: seen classes only
    if train_keys is not None:
        train_pos = np.array([store.index_of(k) for k in train_keys], dtype=np.int64)
        outside = sorted({store.labels[i] for i in train_pos} - class_set)
        if outside:
            raise DataError(f"training videos of class(es) {outside[:5]} outside the training classes")
        val_pos = np.array([store.index_of(k) for k in (val_keys or [])], dtype=np.int64)
    else:
        pos = store.indices_of_classes(classes)
        train_pos, val_pos = stratified_holdout([store.labels[i] for i in pos], cfg.data.val_fraction, cfg.train.seed)
        train_pos, val_pos = pos[train_pos], pos[val_pos]
    bad_val = sorted({store.labels[i] for i in val_pos} - class_set)
    if bad_val:
        raise DataError(f"validation videos of class(es) {bad_val[:5]} outside the training classes")
    if len(train_pos) == 0:
        raise DataError(f"{store.path}: no training videos for classes {classes[:5]}")

    # ---- label vectors
    if label_vectors is None:
        from action2vec.text import build_label_vectors

        label_vectors = build_label_vectors(classes, cfg.data.text)
    missing = [c for c in classes if c not in set(label_vectors.names)]
    if missing:
        raise DataError(f"class(es) without a label vector: {missing[:5]}")
    class_vectors = np.asarray(label_vectors.lookup(classes), dtype=np.float32)
    if not np.isfinite(class_vectors).all() or (np.linalg.norm(class_vectors, axis=1) == 0).any():
        bad = [c for c, v in zip(classes, class_vectors) if not np.isfinite(v).all() or not np.any(v)]
        raise DataError(f"label vector(s) of {bad[:5]} are zero, NaN or inf")

    # ---- model dims follow the data
    model_cfg = resolve_config(cfg.model)
    model_cfg = replace(
        model_cfg,
        input_dim=model_cfg.input_dim or store.dim,
        embed_dim=model_cfg.embed_dim or class_vectors.shape[1],
    )
    if model_cfg.input_dim != store.dim:
        raise DataError(f"model.input_dim={model_cfg.input_dim} but the store's features are {store.dim}-d")
    if model_cfg.embed_dim != class_vectors.shape[1]:
        raise DataError(f"model.embed_dim={model_cfg.embed_dim} but the label vectors are {class_vectors.shape[1]}-d")
    final = replace(cfg, model=model_cfg, data=replace(cfg.data, store=str(store.path), classes=classes, classes_file=""))

    cfg_path = run_dir / "config.yaml"
    if cfg_path.is_file():
        _check_same_run(cfg_path, final)
    resume_from = resume_checkpoint(run_dir / "checkpoints", cfg.train.resume)  # damaged last.ckpt: an older one

    # ---- data (read and checked before anything is written)
    class_to_idx = {c: i for i, c in enumerate(classes)}
    in_mem = should_load_in_memory(store, np.concatenate([train_pos, val_pos]), cfg.data.in_memory)
    train_ds = SequenceDataset(store, train_pos, class_to_idx, in_mem)
    val_ds = SequenceDataset(store, val_pos, class_to_idx, in_mem) if len(val_pos) else None

    # ---- trainer
    L.seed_everything(cfg.train.seed, workers=True, verbose=False)
    dist = _distributed_settings(final)
    ckpt_dir = run_dir / "checkpoints"
    checkpoint = ModelCheckpoint(
        dirpath=ckpt_dir, filename="step{step}", save_last=True, save_top_k=1,
        every_n_train_steps=cfg.train.checkpoint_every_n_steps or None, auto_insert_metric_name=False,
        enable_version_counter=False,  # last.ckpt is always the last state, never last-v1.ckpt
    )
    trainer = L.Trainer(
        max_epochs=cfg.train.epochs,
        logger=[CSVLogger(run_dir / "logs", name="csv"), TensorBoardLogger(run_dir / "logs", name="tensorboard")],
        callbacks=[checkpoint, SignalCheckpoint(ckpt_dir / LAST), *(callbacks or [])],
        gradient_clip_val=cfg.train.grad_clip or None,
        log_every_n_steps=cfg.train.log_every_n_steps,
        enable_progress_bar=cfg.train.progress_bar,
        enable_model_summary=False,
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        deterministic=False,
        default_root_dir=run_dir,
        **dist,
    )
    world = trainer.world_size
    if cfg.train.batch_size % world:
        raise ConfigError(f"config key 'train.batch_size' ({cfg.train.batch_size}) must divide by the {world} processes")
    if trainer.is_global_zero:  # only now that every setting is known to be valid
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(final, cfg_path)
        if not cfg.train.resume:
            set_aside(ckpt_dir)  # starting over: the old run's checkpoints must not mix with this one's
    per_device = cfg.train.batch_size // world
    sampler = SkippableSampler(DistributedSampler(train_ds, num_replicas=world, rank=trainer.global_rank,
                                                  shuffle=True, seed=cfg.train.seed, drop_last=False))
    loader_kw = {"collate_fn": collate_sequences, "num_workers": cfg.train.num_workers,
                 "persistent_workers": cfg.train.num_workers > 0}
    module = Action2VecModule(model_cfg, final.loss, final.train, torch.from_numpy(class_vectors))
    bank_dtype = torch.bfloat16 if "bf16" in str(dist["precision"]) else torch.float32
    use_bank = in_mem and (
        cfg.data.device_cache == "yes"
        or (cfg.data.device_cache == "auto" and bank_fits_device(
            int(store.rows[train_pos].max()) * len(train_pos), store.dim, bank_dtype.itemsize, trainer.strategy.root_device))
    )
    if use_bank:
        module.set_feature_bank(feature_bank(train_ds, bank_dtype))
        train_loader = ResumableLoader(IndexDataset(len(train_ds)), per_device, sampler, collate_fn=collate_indices)
    else:
        train_loader = ResumableLoader(train_ds, per_device, sampler, **loader_kw)
    val_loader = None
    if val_ds is not None:
        val_sampler = DistributedSampler(val_ds, num_replicas=world, rank=trainer.global_rank, shuffle=False)
        val_loader = DataLoader(val_ds, batch_size=max(per_device, 64), sampler=val_sampler, **loader_kw)

    if resume_from:
        log.info("resuming from %s", resume_from)
    with stop_gracefully():  # SIGTERM: Lightning ends the batch, SignalCheckpoint saves last.ckpt, Stopped is raised
        trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader,
                    ckpt_path=str(resume_from) if resume_from else None, weights_only=True)

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}
    result = TrainResult(
        run_dir=run_dir,
        model_dir=run_dir / "model",
        classes=classes,
        metrics=metrics,
        train_keys=[store.keys[i] for i in train_pos],
        val_keys=[store.keys[i] for i in val_pos],
    )
    if trainer.is_global_zero:
        export_model(module.net, final, label_vectors, result.model_dir, store=store, classes=classes)
        (run_dir / "result.json").write_text(json.dumps(
            {"metrics": metrics, "classes": classes, "train_keys": result.train_keys, "val_keys": result.val_keys,
             "global_step": trainer.global_step}, indent=2))
    trainer.strategy.barrier()
    return result


def read_training_log(run_dir: str | Path) -> list[dict[str, float]]:
    """Every row of the run's CSV logs (all resumed segments, in order), values as floats."""
    rows: list[dict[str, float]] = []
    base = Path(run_dir) / "logs" / "csv"
    versions = sorted(base.glob("version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[-1]))
    for path in versions:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                rows.append({k: float(v) for k, v in row.items() if v not in ("", None)})
    return rows
