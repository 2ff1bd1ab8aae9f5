"""The checkpoints a training run resumes from: saved when a scheduler stops the run, checked before use.

Stopping. Lightning's signal connector (``lightning.pytorch.trainer.connectors.signal_connector``) records a
SIGTERM, lets the current training batch finish, then raises ``SIGTERMException`` (a ``SystemExit``
whose status is 0) from the loop and calls every callback's ``on_exception``. :class:`SignalCheckpoint`
saves ``last.ckpt`` there, a consistent state after a whole optimiser step (the resumable loader records
the batches consumed, see :mod:`action2vec.training.data`), and :func:`stop_gracefully` turns the
exception into :class:`~action2vec.signals.Stopped`, which the CLI reports with one line and exit 143.
Lightning turns Ctrl-C into ``SystemExit(1)``; :func:`stop_gracefully` gives back the
``KeyboardInterrupt`` (exit 130). A Ctrl-C stops at once, so the run resumes from its last epoch or step
checkpoint.

Resuming. :func:`resume_checkpoint` picks ``last.ckpt`` when it loads, else the newest checkpoint that
does (with a warning naming the damaged file), else raises :class:`~action2vec.errors.DataError` naming
the file; ``train.resume=false`` starts over, after :func:`set_aside` moved the old checkpoints into a
subfolder (so a later resume never mixes the two runs). Checkpoints are loaded as Lightning loads them
(``torch.load(weights_only=True)``: tensors and plain containers, no pickled objects).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException

from action2vec.errors import DataError
from action2vec.signals import Stopped, deferred

__all__ = [
    "CommitOnFirstStep",
    "SignalCheckpoint",
    "stop_gracefully",
    "resume_checkpoint",
    "set_aside",
    "checkpoint_problem",
    "completed_epochs",
    "LAST",
]

log = logging.getLogger(__name__)

LAST = "last.ckpt"
_NEEDED_KEYS = ("state_dict", "loops", "global_step", "epoch")


class SignalCheckpoint(Callback):
    """Saves ``path`` (the run's ``last.ckpt``) when Lightning stops training for SIGTERM, and once more when
    training ends (after the final validation), so that it holds the finished run's state and final metrics
    whatever the step-checkpoint interval (a step checkpoint of the last batch comes before them)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException):
            trainer.save_checkpoint(self.path, weights_only=False)
            log.info("saved %s at step %d before stopping", self.path, trainer.global_step)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        trainer.save_checkpoint(self.path, weights_only=False)


class CommitOnFirstStep(Callback):
    """Calls ``commit()`` once, on global rank 0, when the first training batch of this process has finished
    (before any checkpoint of it: Lightning runs checkpoint callbacks last). fit() writes the run's identity so,
    and a command refused or crashed before training started leaves nothing that blocks its corrected rerun."""

    def __init__(self, commit: Any) -> None:
        self._commit = commit
        self.done = False

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        if not self.done and trainer.is_global_zero:
            self._commit()
        self.done = True


@contextmanager
def stop_gracefully() -> Iterator[None]:
    """Wrap ``trainer.fit``: SIGTERM stops after the current batch and raises Stopped; Ctrl-C stays itself."""
    import signal

    try:
        with deferred():
            yield
    except SIGTERMException:
        raise Stopped(signal.SIGTERM) from None
    except SystemExit as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # Lightning's sys.exit(1) after a Ctrl-C
            raise KeyboardInterrupt from None
        raise


def _inspect(path: Path) -> tuple[str | None, int]:
    """(why ``path`` cannot be resumed from, or None; its global step, or -1)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged zip, a truncated tensor record, not a checkpoint at all
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot be read ({text[:160]})", -1
    if not isinstance(state, dict):
        return "is not a Lightning checkpoint", -1
    missing = [k for k in _NEEDED_KEYS if k not in state]
    if missing:
        return f"is not a complete Lightning checkpoint (no {', '.join(missing)})", -1
    return None, int(state["global_step"])


def completed_epochs(path: str | Path) -> int:
    """How many epochs the run had completed when the (intact) checkpoint at ``path`` was saved."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return int(state["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"])


def checkpoint_problem(path: str | Path) -> str | None:
    """Why the checkpoint at ``path`` cannot be resumed from (a short phrase), or None when it loads."""
    return _inspect(Path(path))[0]


def resume_checkpoint(ckpt_dir: str | Path, resume: bool = True) -> Path | None:
    """The checkpoint a run in ``ckpt_dir`` resumes from, or None for a fresh start (see module docstring)."""
    ckpt_dir = Path(ckpt_dir)
    last = ckpt_dir / LAST
    if not resume or not last.is_file():
        return None
    problem, _ = _inspect(last)
    if problem is None:
        return last
    steps = {p: _inspect(p) for p in ckpt_dir.glob("*.ckpt") if p != last}
    intact = [p for p, (bad, _) in steps.items() if bad is None]
    if not intact:
        raise DataError(
            f"{last}: the checkpoint {problem}, and no other checkpoint in {ckpt_dir} is intact; "
            "rerun with --train.resume false to start over (the old checkpoints are moved aside)"
        )
    best = max(intact, key=lambda p: (steps[p][1], p.stat().st_mtime))
    log.warning("%s: the checkpoint %s; resuming from %s (step %d) instead", last, problem, best.name, steps[best][1])
    return best


def set_aside(ckpt_dir: str | Path) -> Path | None:
    """Move the checkpoints of ``ckpt_dir`` into ``ckpt_dir/replaced-<time>/`` before a run starts over.

    Returns that folder, or None when there was nothing to move.
    """
    import datetime

    ckpt_dir = Path(ckpt_dir)
    old = sorted(ckpt_dir.glob("*.ckpt"))
    if not old:
        return None
    aside = ckpt_dir / f"replaced-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    aside.mkdir(exist_ok=True)
    for path in old:
        path.rename(aside / path.name)
    log.warning("starting over (train.resume=false): the previous checkpoints are in %s", aside)
    return aside
