"""``fit()``: train an Action2Vec model on a feature store and export a shareable model folder.

Run folder layout::

    RUN_DIR/config.yaml                   the final config (every default filled in)
    RUN_DIR/provenance.json               what the run trains on: the store's content, the training/validation/
                                          unlabelled videos, label vectors and settings (checked on resume)
    RUN_DIR/checkpoints/last.ckpt         Lightning checkpoint for exact resume
    RUN_DIR/logs/csv/version_*/metrics.csv, RUN_DIR/logs/tensorboard/   training curves (TensorBoard: extra)
    RUN_DIR/model/                        the shareable model (see action2vec.model_folder)
    RUN_DIR/result.json                   final metrics and the train/val video keys

config.yaml and provenance.json are the run's identity; they are written once the first training step has
finished, so a command refused or crashed before it never blocks a corrected command in the same folder.
Run folders from before provenance records (config.yaml and run_identity.json) are still checked by them.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from action2vec.config import execution_keys, save_config, to_dict
from action2vec.distributed import process_layout
from action2vec.errors import ConfigError, DataError
from action2vec.extras import available
from action2vec.io import read_json, write_json
from action2vec.model_folder import CONFIG_FILE
from action2vec.models import resolve_config
from action2vec.provenance import (
    PROVENANCE_FILE,
    Input,
    Provenance,
    decide,
    keys_digest,
    read_provenance,
    sketch,
    split_settings,
    write_provenance,
)
from action2vec.run_folder import RESULT_FILE, TrainResult, read_train_result
from action2vec.store import open_store, store_digest
from action2vec.store.base import Store
from action2vec.text import LabelVectors, build_label_vectors
from action2vec.training.config import RunConfig, flatten
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
from action2vec.training.export import export_model, recorded_text
from action2vec.training.manifold import ManifoldConfig, unlabeled_bank
from action2vec.training.module import TrainingDiverged

if TYPE_CHECKING:  # Lightning is imported when a run starts, not with the package
    from action2vec.training.module import Action2VecModule

log = logging.getLogger(__name__)

# Settings that may change when a run is resumed besides those declared execution-only: more epochs (checked
# against the checkpoint), the store at another path (it enters by its content).
_RESUMABLE_CHANGES = frozenset({"train.epochs", "data.store"})


IDENTITY_FILE = "run_identity.json"  # the record of run folders from before provenance.json (read, never written)
_LEGACY_INPUTS = {
    "train_videos": "training videos",
    "val_videos": "validation videos",
    "unlabeled_videos": "unlabelled videos",
}


def run_provenance(
    final: RunConfig,
    store: Store,
    train_pos: np.ndarray,
    val_pos: np.ndarray,
    unlabeled_keys: Sequence[str] | None,
    manifold: ManifoldConfig | None,
    class_vectors: np.ndarray,
) -> Provenance:
    """What a run trains on (``RUN_DIR/provenance.json``; checked on resume): the store's content, its training,
    validation and unlabelled videos, its final config but the execution-only settings, the manifold settings,
    and a sketch of the training classes' label vectors."""
    inputs = {
        "store": Input(store_digest(store), str(store.path)),
        "training videos": Input(keys_digest(store.keys[i] for i in train_pos)),
        "validation videos": Input(keys_digest(store.keys[i] for i in val_pos)),
    }
    settings, execution = split_settings(final, skip=_RESUMABLE_CHANGES)
    if unlabeled_keys:
        inputs["unlabelled videos"] = Input(keys_digest(unlabeled_keys))
        settings.update({f"manifold.{k}": v for k, v in flatten(to_dict(manifold or ManifoldConfig())).items()})
    return Provenance("train run", inputs, settings, execution, {"label vectors": sketch(class_vectors)})


def _legacy_provenance(run_dir: Path, current: Provenance) -> Provenance | None:
    """The record of a run folder written before provenance.json: its config.yaml and run_identity.json. Its store
    digest (of 8 sampled videos) cannot be compared with today's and is taken as the same, as it was then; so is
    a label-vector sketch it never kept."""
    import yaml

    config = run_dir / "config.yaml"
    if not config.is_file():
        return None
    flat = flatten(yaml.safe_load(config.read_text()) or {})
    skip = execution_keys(RunConfig) | _RESUMABLE_CHANGES
    settings = {k: v for k, v in flat.items() if k not in skip}
    inputs = {"store": current.inputs["store"]}
    identity = read_json(run_dir / IDENTITY_FILE, "run identity") if (run_dir / IDENTITY_FILE).is_file() else None
    if identity is None:  # older still: accepted on its config alone, as it was then
        inputs = dict(current.inputs)
    else:
        for old, name in _LEGACY_INPUTS.items():
            if identity.get(old):
                inputs[name] = Input(str(identity[old]))
        if identity.get("manifold"):
            settings.update({f"manifold.{k}": v for k, v in flatten(identity["manifold"]).items()})
    return Provenance("train run", inputs, settings, sketches=current.sketches)


def _check_same_run(run_dir: Path, current: Provenance) -> None:
    """Refuse to resume (or reuse) a run whose record names other inputs or settings, naming the first."""
    recorded = read_provenance(run_dir / PROVENANCE_FILE) or _legacy_provenance(run_dir, current)
    decision = decide(recorded, current, finished=False, on_change="refuse", unrecorded="accept")
    if decision.action == "refuse":
        raise ConfigError(f"{run_dir} holds another run: {decision.reason}; use another output folder")


def _commit_identity(run_dir: Path, final: RunConfig, record: Provenance) -> None:
    """Write the run's identity: its final config and its provenance record."""
    save_config(final, run_dir / "config.yaml")
    write_provenance(record, run_dir / PROVENANCE_FILE)


def _set_aside_diverged(run_dir: Path, ckpt_dir: Path) -> tuple[Path, int]:
    """Move a diverged run's identity (config.yaml, its provenance record) and its checkpoints into
    ``run_dir/diverged-<time>/``: the settings that diverged must not block the corrected command, and their
    checkpoints must not be resumed under other settings. Returns the folder and how many checkpoints moved."""
    import datetime

    aside = run_dir / f"diverged-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    aside.mkdir(parents=True, exist_ok=True)
    checkpoints = sorted(Path(ckpt_dir).glob("*.ckpt"))
    for path in [run_dir / "config.yaml", run_dir / PROVENANCE_FILE, run_dir / IDENTITY_FILE, *checkpoints]:
        if path.is_file():
            path.rename(aside / path.name)
    return aside, len(checkpoints)


def _check_epochs_done(run_dir: Path, done: int, asked: int) -> None:
    """Refuse a resume that asks for fewer epochs than the run has completed (Lightning would export it as is)."""
    if done > asked:
        raise ConfigError(
            f"{run_dir} holds a run trained for {done} epochs, more than the {asked} of config key "
            f"'train.epochs'; ask for at least {done} or use another output folder"
        )


def _finished_result(run_dir: Path, cfg: RunConfig) -> TrainResult | None:
    """The recorded result when the run in ``run_dir`` (same config and inputs: checked before) finished at least
    ``train.epochs`` epochs and exported its model; resuming it would train nothing and export empty metrics."""
    import yaml

    result_path, model_config = run_dir / RESULT_FILE, run_dir / "model" / CONFIG_FILE
    if not cfg.train.resume or not (result_path.is_file() and model_config.is_file()):
        return None
    epochs = ((yaml.safe_load((run_dir / "config.yaml").read_text()) or {}).get("train") or {}).get("epochs", 0)
    if epochs < cfg.train.epochs:
        return None
    if epochs > cfg.train.epochs:
        raise ConfigError(
            f"{run_dir} holds a run that finished {epochs} epochs, more than the {cfg.train.epochs} of "
            f"config key 'train.epochs'; ask for at least {epochs} or use another output folder"
        )
    log.info("%s finished before (%d epochs), reusing its result and model", run_dir, epochs)
    return read_train_result(run_dir)


def _resolve_classes(cfg: RunConfig, store: Store, train_keys: Sequence[str] | None) -> list[str]:
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
    # a classification head with a weight of 0 before or after the switch gets no gradient in those steps
    unused = cfg.model.classifier and min(cfg.loss.lambda_initial, cfg.loss.lambda_final) == 0
    if strategy == "ddp" or (strategy == "auto" and (world > 1 or (isinstance(devices, int) and devices > 1))):
        strategy = DDPStrategy(process_group_backend="gloo" if use_cpu else "nccl", find_unused_parameters=unused)
    if use_cpu:
        accelerator = "cpu"
    return {
        "accelerator": accelerator,
        "devices": devices,
        "num_nodes": num_nodes,
        "strategy": strategy,
        "precision": _precision(t.precision, accelerator),
    }


@dataclass
class _TrainingData:
    """The datasets of a run, read and checked before anything is written."""

    train: SequenceDataset
    val: SequenceDataset | None
    in_memory: bool


def fit(
    cfg: RunConfig,
    run_dir: str | Path,
    *,
    store: Store | None = None,
    label_vectors: LabelVectors | None = None,
    train_keys: Sequence[str] | None = None,
    val_keys: Sequence[str] | None = None,
    callbacks: list | None = None,
    unlabeled_keys: Sequence[str] | None = None,
    manifold: ManifoldConfig | None = None,
) -> TrainResult:
    """Train on the seen classes and export ``run_dir/model``; resumes an interrupted run in ``run_dir``.

    ``train_keys`` / ``val_keys`` select videos explicitly (the zero-shot runner passes seen-class videos
    only); otherwise the classes of ``cfg.data`` (default: all) are split by ``cfg.data.val_fraction``.
    ``unlabeled_keys`` (transductive, off by default): videos whose features (never labels) enter the
    manifold term of :mod:`action2vec.training.manifold`, with ``manifold`` (default ``ManifoldConfig()``).
    """
    from action2vec.training.checkpoints import (
        CommitOnFirstStep,
        completed_epochs,
        resume_checkpoint,
        set_aside,
        stop_gracefully,
    )
    from action2vec.training.module import Action2VecModule, scalar_metrics

    run_dir = Path(run_dir)
    store = _training_store(cfg, store)
    classes = _resolve_classes(cfg, store, train_keys)
    train_pos, val_pos = _select_videos(cfg, store, classes, train_keys, val_keys)
    label_vectors, class_vectors = _label_vectors(cfg, classes, label_vectors)
    final = _final_config(cfg, store, classes, label_vectors, class_vectors)
    record = run_provenance(final, store, train_pos, val_pos, unlabeled_keys, manifold, class_vectors)
    if (run_dir / "config.yaml").is_file() or (run_dir / PROVENANCE_FILE).is_file():
        _check_same_run(run_dir, record)
        done = _finished_result(run_dir, cfg)
        if done is not None:
            return done
    resume_from = resume_checkpoint(run_dir / "checkpoints", cfg.train.resume)  # damaged last.ckpt: an older one
    if resume_from is not None:
        _check_epochs_done(run_dir, completed_epochs(resume_from), cfg.train.epochs)
    commit = CommitOnFirstStep(partial(_commit_identity, run_dir, final, record))
    trainer, ckpt_dir = _build_trainer(cfg, final, run_dir, [commit, *(callbacks or [])])
    _check_batch_size(cfg, trainer.world_size)
    _check_compiler(cfg.train.compile, trainer.strategy.root_device)
    in_mem = should_load_in_memory(
        store, np.concatenate([train_pos, val_pos]), cfg.data.in_memory, cfg.data.memory_budget_gb
    )
    _check_memory(cfg, final, store, len(classes), train_pos, val_pos, in_mem, trainer)  # before it is allocated
    data = _datasets(store, classes, train_pos, val_pos, in_mem)
    if trainer.is_global_zero:  # only now that every setting is known to be valid
        run_dir.mkdir(parents=True, exist_ok=True)  # config.yaml and provenance.json: once training has started
        (run_dir / RESULT_FILE).unlink(missing_ok=True)  # present only once this config's run has finished
        if not cfg.train.resume:
            set_aside(ckpt_dir)  # starting over: the old run's checkpoints must not mix with this one's
    module = Action2VecModule(final.model, final.loss, final.train, torch.from_numpy(class_vectors))
    train_loader, val_loader = _loaders(cfg, store, data, trainer, module, train_pos)
    transductive = _add_unlabeled(module, store, unlabeled_keys, train_pos, manifold, cfg.train.seed)
    if resume_from:
        log.info("resuming from %s", resume_from)
    with stop_gracefully():  # SIGTERM: Lightning ends the batch, SignalCheckpoint saves last.ckpt, Stopped is raised
        try:
            trainer.fit(
                module,
                train_dataloaders=train_loader,
                val_dataloaders=val_loader,
                ckpt_path=str(resume_from) if resume_from else None,
                weights_only=True,
            )
        except TrainingDiverged as err:
            if trainer.is_global_zero:
                aside, moved = _set_aside_diverged(run_dir, ckpt_dir)
                kept = (
                    f"Its {moved} checkpoint(s) (finite weights only) and settings are"
                    if moved
                    else "No checkpoint was written; its settings are"
                )
                raise TrainingDiverged(
                    f"{err}. {kept} set aside in {aside}, so a corrected command in the same folder starts over"
                ) from None
            raise

    _check_epochs_done(run_dir, trainer.current_epoch, cfg.train.epochs)  # checkpoints written before the above
    result = TrainResult(
        run_dir=run_dir,
        model_dir=run_dir / "model",
        classes=classes,
        # nothing left to train (a resume after training ended): the metrics the checkpoint recorded
        metrics=scalar_metrics(trainer.callback_metrics) or module.restored_metrics,
        train_keys=[store.keys[i] for i in train_pos],
        val_keys=[store.keys[i] for i in val_pos],
        global_step=trainer.global_step,
        transductive=transductive,
    )
    if trainer.is_global_zero:
        _export(module, final, label_vectors, store, result)
    trainer.strategy.barrier()
    return result


def _training_store(cfg: RunConfig, store: Store | None) -> Store:
    """The given store, else ``cfg.data.store`` opened; refuses an empty one."""
    if store is None:
        if not cfg.data.store:
            raise ConfigError("config key 'data.store' is empty: give the feature store to train on")
        store = open_store(cfg.data.store, cfg.data.annotations or None)
    if len(store) == 0:
        raise DataError(f"{store.path}: the store holds no videos")
    return store


def _select_videos(
    cfg: RunConfig, store: Store, classes: list[str], train_keys: Sequence[str] | None, val_keys: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Store positions of the training and validation videos: seen classes only."""
    class_set = set(classes)
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
    return train_pos, val_pos


def _label_vectors(
    cfg: RunConfig, classes: list[str], label_vectors: LabelVectors | None
) -> tuple[LabelVectors, np.ndarray]:
    """The label vectors (built with ``cfg.data.text`` when not given) and the training classes' rows (C, E)."""
    if label_vectors is None:
        if not cfg.data.text:
            raise ConfigError(
                "config key 'data.text' is empty: name the text embedder that makes the label vectors "
                "(a run whose vectors were given from Python records none)"
            )
        label_vectors = build_label_vectors(classes, cfg.data.text, prompts=cfg.data.prompts)
    missing = [c for c in classes if c not in set(label_vectors.names)]
    if missing:
        raise DataError(f"class(es) without a label vector: {missing[:5]}")
    class_vectors = np.asarray(label_vectors.lookup(classes), dtype=np.float32)
    if not np.isfinite(class_vectors).all() or (np.linalg.norm(class_vectors, axis=1) == 0).any():
        bad = [c for c, v in zip(classes, class_vectors) if not np.isfinite(v).all() or not np.any(v)]
        raise DataError(f"label vector(s) of {bad[:5]} are zero, NaN or inf")
    return label_vectors, class_vectors


def _final_config(
    cfg: RunConfig, store: Store, classes: list[str], label_vectors: LabelVectors, class_vectors: np.ndarray
) -> RunConfig:
    """The run's config with every default filled in: model dims from the data, the store, the classes and
    the embedder and prompts that made the label vectors."""
    model_cfg = resolve_config(cfg.model)
    model_cfg = replace(
        model_cfg, input_dim=model_cfg.input_dim or store.dim, embed_dim=model_cfg.embed_dim or class_vectors.shape[1]
    )
    if model_cfg.classifier and cfg.loss.lambda_initial == 0 and cfg.loss.lambda_final == 0:
        log.info("loss.lambda_initial and loss.lambda_final are 0 (cosine loss only): no classification head")
        model_cfg = replace(model_cfg, classifier=False)  # a head without gradients: DDP refuses unused parameters
    if model_cfg.input_dim != store.dim:
        raise DataError(f"model.input_dim={model_cfg.input_dim} but the store's features are {store.dim}-d")
    if model_cfg.embed_dim != class_vectors.shape[1]:
        raise DataError(f"model.embed_dim={model_cfg.embed_dim} but the label vectors are {class_vectors.shape[1]}-d")
    data_cfg = recorded_text(cfg.data, label_vectors)  # the embedder and prompts that made the label vectors
    return replace(
        cfg, model=model_cfg, data=replace(data_cfg, store=str(store.path), classes=classes, classes_file="")
    )


def _check_memory(
    cfg: RunConfig,
    final: RunConfig,
    store: Store,
    num_classes: int,
    train_pos: np.ndarray,
    val_pos: np.ndarray,
    in_mem: bool,
    trainer: Any,
) -> None:
    """ConfigError (one line, with the estimate and what fits) when training would not fit in the memory of
    the device (:mod:`action2vec.training.memory`)."""
    from action2vec.training.memory import check_training_memory, estimate_training_memory

    device = trainer.strategy.root_device
    host_features = in_mem and device.type == "cpu"  # a GPU run holds them in host memory (a bank only if it fits)
    features = int(store.rows[np.concatenate([train_pos, val_pos])].sum()) * store.dim * 4 if host_features else 0
    world = trainer.world_size
    batch = max(1, min(cfg.train.batch_size // world, -(-len(train_pos) // world)))  # no larger than the data
    estimate = estimate_training_memory(final.model, num_classes, batch, int(store.rows[train_pos].max()), features)
    check_training_memory(estimate, final.model, device)


def _datasets(
    store: Store, classes: list[str], train_pos: np.ndarray, val_pos: np.ndarray, in_mem: bool
) -> _TrainingData:
    """The training and validation datasets (read into memory when ``in_mem``)."""
    class_to_idx = {c: i for i, c in enumerate(classes)}
    val = SequenceDataset(store, val_pos, class_to_idx, in_mem) if len(val_pos) else None
    return _TrainingData(SequenceDataset(store, train_pos, class_to_idx, in_mem), val, in_mem)


def _build_trainer(cfg: RunConfig, final: RunConfig, run_dir: Path, callbacks: list | None) -> tuple[Any, Path]:
    """The Lightning Trainer (seeded; checkpoints in ``run_dir/checkpoints``, CSV and TensorBoard logs); settings
    Lightning refuses on this machine (a strategy whose package is missing, devices it lacks) are a ConfigError."""
    import lightning as L
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.callbacks import ModelCheckpoint

    from action2vec.training.checkpoints import LAST, SignalCheckpoint

    L.seed_everything(cfg.train.seed, workers=True, verbose=False)
    ckpt_dir = run_dir / "checkpoints"
    checkpoint = ModelCheckpoint(
        dirpath=ckpt_dir,
        filename="step{step}",
        save_last=True,
        save_top_k=1,
        every_n_train_steps=cfg.train.checkpoint_every_n_steps or None,
        auto_insert_metric_name=False,
        enable_version_counter=False,  # last.ckpt is always the last state, never last-v1.ckpt
    )
    settings = _distributed_settings(final)
    try:
        trainer = _trainer(cfg, run_dir, [checkpoint, SignalCheckpoint(ckpt_dir / LAST), *(callbacks or [])], settings)
    except (ValueError, TypeError, ImportError, MisconfigurationException) as exc:
        t = cfg.train
        raise ConfigError(
            f"config keys 'train.accelerator' ({t.accelerator}), 'train.devices' ({t.devices}), "
            f"'train.strategy' ({t.strategy}), 'train.precision' ({t.precision}): Lightning refuses "
            f"them on this machine: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    return trainer, ckpt_dir


def _trainer(cfg: RunConfig, run_dir: Path, callbacks: list, settings: dict[str, Any]) -> Any:
    """The Lightning Trainer with the run's logging and the process layout ``settings``."""
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    loggers: list[Any] = [CSVLogger(run_dir / "logs", name="csv")]
    if available("tensorboard"):  # the 'tensorboard' extra; the CSV metrics are what reports read
        loggers.append(TensorBoardLogger(run_dir / "logs", name="tensorboard"))
    return L.Trainer(
        max_epochs=cfg.train.epochs,
        logger=loggers,
        callbacks=callbacks,
        gradient_clip_val=cfg.train.grad_clip or None,
        log_every_n_steps=cfg.train.log_every_n_steps,
        enable_progress_bar=cfg.train.progress_bar,
        enable_model_summary=False,
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        deterministic=False,
        default_root_dir=run_dir,
        **settings,
    )


def _check_batch_size(cfg: RunConfig, world: int) -> None:
    """The global batch must split evenly over the processes (checked before the run folder is written)."""
    if cfg.train.batch_size % world:
        raise ConfigError(
            f"config key 'train.batch_size' ({cfg.train.batch_size}) must divide by the {world} processes"
        )


def _check_compiler(mode: str, device: torch.device) -> None:
    """``train.compile`` needs what torch.compile generates code with: Triton on a GPU, a C++ compiler on a CPU."""
    if mode == "eager":
        return
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        raise ConfigError(
            f"config key 'train.compile' is {mode!r}, but Triton, which torch.compile needs on a GPU, "
            "is not installed; use train.compile=eager"
        )
    if device.type == "cpu" and not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        raise ConfigError(
            f"config key 'train.compile' is {mode!r}, but no C++ compiler (g++, c++, clang++), which "
            "torch.compile needs on a CPU, is on the PATH; use train.compile=eager"
        )


def _loaders(
    cfg: RunConfig, store: Store, data: _TrainingData, trainer: Any, module: Action2VecModule, train_pos: np.ndarray
) -> tuple[ResumableLoader, Any]:
    """The training loader (from a device-resident feature bank when it fits) and the validation loader.

    Batches from host memory are pinned when training on a GPU, and, with a compiled forward
    (``train.compile``), padded to the longest training video so that every batch has one shape.
    """
    from torch.utils.data import DataLoader, DistributedSampler

    world = trainer.world_size
    per_device = cfg.train.batch_size // world
    device = trainer.strategy.root_device
    sampler = SkippableSampler(
        DistributedSampler(
            data.train, num_replicas=world, rank=trainer.global_rank, shuffle=True, seed=cfg.train.seed, drop_last=False
        )
    )
    loader_kw = {
        "collate_fn": collate_sequences,
        "num_workers": cfg.train.num_workers,
        "persistent_workers": cfg.train.num_workers > 0,
        "pin_memory": device.type == "cuda",
    }
    bank_dtype = torch.bfloat16 if "bf16" in str(trainer.precision) else torch.float32
    use_bank = data.in_memory and (
        cfg.data.device_cache == "yes"
        or (
            cfg.data.device_cache == "auto"
            and bank_fits_device(
                int(store.rows[train_pos].max()) * len(train_pos), store.dim, bank_dtype.itemsize, device
            )
        )
    )
    if use_bank:
        module.set_feature_bank(feature_bank(data.train, bank_dtype, device))
        data.train.cache = None  # the bank holds the features now
        train_loader = ResumableLoader(IndexDataset(len(data.train)), per_device, sampler, collate_fn=collate_indices)
    else:
        train_kw = dict(loader_kw)
        if module.static_shapes:
            train_kw["collate_fn"] = partial(collate_sequences, steps=int(store.rows[train_pos].max()))
        train_loader = ResumableLoader(data.train, per_device, sampler, **train_kw)
    val_loader = None
    if data.val is not None:
        val_sampler: DistributedSampler[int] = DistributedSampler(
            data.val, num_replicas=world, rank=trainer.global_rank, shuffle=False
        )
        val_loader = DataLoader(data.val, batch_size=max(per_device, 64), sampler=val_sampler, **loader_kw)
    return train_loader, val_loader


def _add_unlabeled(
    module: Action2VecModule,
    store: Store,
    unlabeled_keys: Sequence[str] | None,
    train_pos: np.ndarray,
    manifold: ManifoldConfig | None,
    seed: int,
) -> dict[str, Any] | None:
    """Transductive: the unlabelled videos and their neighbour graph for the manifold term; what was used."""
    if not unlabeled_keys:
        return None
    unlabeled_pos = np.array([store.index_of(k) for k in unlabeled_keys], dtype=np.int64)
    if np.isin(unlabeled_pos, train_pos).any():
        raise DataError("unlabelled (transductive) videos must not be training videos")
    manifold = manifold or ManifoldConfig()
    bank = unlabeled_bank(store, unlabeled_pos, manifold, seed)
    module.set_unlabeled_bank(bank, manifold.weight, manifold.batch_size)
    return {"videos": int(len(bank["lengths"])), **to_dict(manifold)}


def _export(
    module: Action2VecModule, final: RunConfig, label_vectors: LabelVectors, store: Store, result: TrainResult
) -> None:
    """The shareable model folder and ``result.json`` (global rank 0 only)."""
    export_model(
        module.net,
        final,
        label_vectors,
        result.model_dir,
        store=store,
        classes=result.classes,
        metrics=result.metrics,
        train_videos=len(result.train_keys),
        val_videos=len(result.val_keys),
        transductive=result.transductive is not None,
    )
    write_json(result.to_json(), result.run_dir / RESULT_FILE)
