"""Exit codes a scheduler can trust, and checkpoints that are checked before a run resumes from them.

SIGTERM during ``train`` ends the current batch, saves ``last.ckpt``, prints one line and exits 143; the
rerun ends with the same weights, bit for bit, as a run never stopped. Ctrl-C exits 130. A damaged
``last.ckpt`` falls back to the newest intact checkpoint; none intact is one line and exit 2.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

from action2vec.cli.main import main
from action2vec.config import load_config
from action2vec.errors import DataError
from action2vec.signals import Stopped, stop_on_signals
from action2vec.store import open_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file
from action2vec.text import build_label_vectors
from action2vec.training import RunConfig, fit
from action2vec.training.checkpoints import checkpoint_problem, resume_checkpoint

STOP_LINE = "action2vec train: stopped by SIGTERM; rerun the same command to resume"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sig")
    lv = synthetic_label_vectors(6, dim=8, seed=5)
    path = make_synthetic_store(root / "s.h5", lv, videos_per_class=12, steps=10, feature_dim=16, seed=5)
    vectors = write_vectors_file(lv, root / "v.npz")
    lv = build_label_vectors(lv.names, f"vectors:{vectors}", cache=False)  # the vectors record their embedder
    return {"path": path, "store": open_store(path), "lv": lv, "vectors": vectors}


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model" / "model.safetensors"))


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k  # bit for bit


def _argv(data, run: Path) -> list[str]:
    return [
        "train",
        "--out",
        str(run),
        "--data.store",
        str(data["path"]),
        "--data.text",
        f"vectors:{data['vectors']}",
        "--model.preset",
        "tiny",
        "--model.dropout",
        "0.3",
        "--train.epochs",
        "48",
        "--train.batch_size",
        "8",
        "--train.progress_bar",
        "false",
        "--train.checkpoint_every_n_steps",
        "2",
    ]


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _latest_step(run: Path) -> int:
    steps = [int(p.stem[4:]) for p in (run / "checkpoints").glob("step*.ckpt") if p.stem[4:].isdigit()]
    return max(steps, default=-1)


def _signal_mid_run(data, run: Path, signum: int, after_step: int) -> subprocess.CompletedProcess:
    """Run ``action2vec train`` in a subprocess and send ``signum`` once it checkpointed step ``after_step``."""
    cmd = [sys.executable, "-m", "action2vec.cli.main", *_argv(data, run)]
    proc = subprocess.Popen(
        cmd,
        env=_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    while proc.poll() is None and _latest_step(run) < after_step and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    os.kill(proc.pid, signal.SIGSTOP)  # deliver the signal mid-run on any machine, however loaded
    seen = _latest_step(run)
    os.kill(proc.pid, signum)
    os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=300)
    # the step the run had checkpointed when the signal was sent, for the message of a failed assertion
    return subprocess.CompletedProcess(cmd, proc.returncode, out, f"[signal sent at step {seen}]\n{err}")


@pytest.mark.slow
def test_kill_9_ctrl_c_sigterm_then_rerun_gives_the_weights_of_an_uninterrupted_run(data, tmp_path):
    assert main(_argv(data, tmp_path / "straight")) == 0
    run = tmp_path / "run"

    killed = _signal_mid_run(data, run, signal.SIGKILL, after_step=4)
    assert killed.returncode == -signal.SIGKILL

    interrupted = _signal_mid_run(data, run, signal.SIGINT, after_step=40)
    assert interrupted.returncode == 130, interrupted.stderr[:40] + interrupted.stderr[-3000:]
    assert interrupted.stderr.strip().splitlines()[-1] == (
        "action2vec train: interrupted; rerun the same command to resume"
    )

    stopped = _signal_mid_run(data, run, signal.SIGTERM, after_step=76)
    assert stopped.returncode == 143, stopped.stderr[:40] + stopped.stderr[-3000:]
    lines = stopped.stderr.strip().splitlines()
    assert lines[-1] == STOP_LINE
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    # stopped mid-run (of 432 steps: a wide margin, so a loaded machine that is slow to poll still stops it
    # before the end), its state saved
    assert 76 <= ckpt["global_step"] < 432 and not (run / "model").exists()
    # each message once, without Lightning's advertisement or the deprecation warning it triggers
    assert sum("GPU available" in ln for ln in lines) == 1
    assert not any("Tip:" in ln or "litlogger" in ln or "LeafSpec" in ln for ln in lines), lines
    assert sum("Restoring states from the checkpoint" in ln for ln in lines) == 1

    assert main(_argv(data, run)) == 0
    _assert_same_weights(tmp_path / "straight", run)


class _SignalAt(Callback):
    """Sends SIGTERM to this process when training reaches step ``at`` (or the first validation batch)."""

    def __init__(self, at: int | None = None, in_validation: bool = False) -> None:
        self.at, self.in_validation = at, in_validation

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.at:
            os.kill(os.getpid(), signal.SIGTERM)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        if self.in_validation and trainer.current_epoch == 1:
            os.kill(os.getpid(), signal.SIGTERM)


class _CtrlCAt(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.at:
            raise KeyboardInterrupt


def _cfg(data, *extra: str) -> RunConfig:
    return load_config(
        RunConfig,
        None,
        [
            f"data.text=vectors:{data['vectors']}",
            "model.preset=tiny",
            "model.dropout=0.3",
            "train.batch_size=8",
            "train.progress_bar=false",
            "train.epochs=3",
            *extra,
        ],
    )


@pytest.mark.parametrize("where", ["mid-epoch", "last batch of an epoch", "validation"])
def test_library_sigterm_stops_at_a_batch_end_and_resumes_exactly(data, tmp_path, where):
    cfg = _cfg(data)
    straight = fit(cfg, tmp_path / "straight", store=data["store"], label_vectors=data["lv"])
    per_epoch = int(np.ceil(len(straight.train_keys) / 8))
    callback = {
        "mid-epoch": _SignalAt(at=3),
        "last batch of an epoch": _SignalAt(at=per_epoch - 1),
        "validation": _SignalAt(in_validation=True),
    }[where]
    with stop_on_signals(), pytest.raises(Stopped) as info:
        fit(cfg, tmp_path / "run", store=data["store"], label_vectors=data["lv"], callbacks=[callback])
    assert info.value.exit_code == 143 and str(info.value) == "stopped by SIGTERM; rerun the same command to resume"
    assert not (tmp_path / "run" / "model").exists()
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    expected = {"mid-epoch": 4, "last batch of an epoch": per_epoch, "validation": 2 * per_epoch}[where]
    assert saved["global_step"] == expected  # saved after the batch the signal arrived in
    fit(cfg, tmp_path / "run", store=data["store"], label_vectors=data["lv"])
    _assert_same_weights(tmp_path / "straight", tmp_path / "run")


def test_library_ctrl_c_is_a_keyboard_interrupt_not_lightnings_exit_1(data, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        fit(_cfg(data), tmp_path / "run", store=data["store"], label_vectors=data["lv"], callbacks=[_CtrlCAt(at=2)])


def _truncate(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])


def test_a_damaged_last_checkpoint_falls_back_to_the_newest_intact_one(data, tmp_path, caplog, capsys):
    cfg = _cfg(data, "train.checkpoint_every_n_steps=3")
    fit(cfg, tmp_path / "straight", store=data["store"], label_vectors=data["lv"])
    run = tmp_path / "run"
    with stop_on_signals(), pytest.raises(Stopped):
        fit(cfg, run, store=data["store"], label_vectors=data["lv"], callbacks=[_SignalAt(at=7)])
    ckpts = run / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("*.ckpt")) == ["last.ckpt", "step6.ckpt"]  # SIGTERM saved step 8
    _truncate(ckpts / "last.ckpt")
    assert "cannot be read" in checkpoint_problem(ckpts / "last.ckpt")
    assert resume_checkpoint(ckpts) == ckpts / "step6.ckpt"
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["train", "--out", str(run), "--config", str(run / "config.yaml")]) == 0
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "last.ckpt" in r.getMessage()]
    assert warning and "cannot be read" in warning[0] and "resuming from step6.ckpt (step 6)" in warning[0]
    _assert_same_weights(tmp_path / "straight", run)


def test_no_intact_checkpoint_is_one_line_and_resume_false_starts_over(data, tmp_path, capsys):
    cfg = _cfg(data, "train.epochs=1")
    run = tmp_path / "run"
    fit(cfg, run, store=data["store"], label_vectors=data["lv"])
    (run / "result.json").unlink()  # killed before it finished: a rerun resumes from the checkpoints
    for path in (run / "checkpoints").glob("*.ckpt"):
        _truncate(path)
    with pytest.raises(DataError, match="last.ckpt: the checkpoint cannot be read"):
        fit(cfg, run, store=data["store"], label_vectors=data["lv"])
    argv = ["train", "--out", str(run), "--config", str(run / "config.yaml")]
    assert main(argv) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and str(run / "checkpoints" / "last.ckpt") in err[0] and "--train.resume false" in err[0]
    assert main([*argv, "--train.resume", "false"]) == 0
    assert sorted(p.name for p in (run / "checkpoints").glob("*.ckpt")) == ["last.ckpt", "step9.ckpt"]
    assert checkpoint_problem(run / "checkpoints" / "last.ckpt") is None
    assert len(list((run / "checkpoints").glob("replaced-*/last.ckpt"))) == 1  # the damaged ones, kept aside


def _sigterm_when(path_glob: str, root: Path) -> threading.Thread:
    """A thread that sends SIGTERM to this process once a file matching ``root/path_glob`` exists."""

    def watch() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not list(root.glob(path_glob)):
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _zsl(data, out: Path, seeds: int, workers: int, epochs: int) -> list[str]:
    return [
        "zsl",
        "--store",
        f"toy={data['path']}",
        "--data.text",
        f"vectors:{data['vectors']}",
        "--variants",
        "hrnn_attention",
        "--ratios",
        "50/50",
        "--seeds",
        str(seeds),
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--model.preset",
        "tiny",
        "--train.epochs",
        str(epochs),
        "--train.batch_size",
        "8",
        "--train.progress_bar",
        "false",
    ]


def _assert_same_zsl_models(straight: Path, out: Path, seeds: int) -> None:
    for seed in range(seeds):
        model = Path("runs/toy") / f"50-50_seed{seed}" / "hrnn_attention/train"
        _assert_same_weights(straight / model, out / model)


@pytest.mark.slow
def test_zsl_sigterm_keeps_finished_splits_and_the_rerun_trains_the_same_models(data, tmp_path, capsys):
    def zsl(out: Path) -> list[str]:
        return _zsl(data, out, seeds=2, workers=1, epochs=6)

    assert main(zsl(tmp_path / "straight")) == 0
    out = tmp_path / "run"
    watcher = _sigterm_when("runs/toy/50-50_seed1/*/train/checkpoints/last.ckpt", out)  # the second split
    assert main(zsl(out)) == 143
    watcher.join()
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "action2vec zsl: stopped by SIGTERM; rerun the same command to resume"
    )
    assert (out / "runs/toy/50-50_seed0/hrnn_attention/result.json").is_file()  # the finished split is kept
    assert not (out / "runs/toy/50-50_seed1/hrnn_attention/result.json").exists()
    assert main(zsl(out)) == 0
    _assert_same_zsl_models(tmp_path / "straight", out, seeds=2)


@pytest.mark.slow
def test_zsl_in_worker_processes_stops_its_running_jobs_on_a_sigterm_to_the_main_process(data, tmp_path, capsys):
    """A SIGTERM sent to the main process alone (`kill PID`, Kubernetes) reaches the jobs running in its pool:
    they stop after their batch with a checkpoint (they trained to the end before), the third job, queued,
    does not start, and the rerun trains the same models as an uninterrupted run."""

    def zsl(out: Path) -> list[str]:
        return _zsl(data, out, seeds=3, workers=2, epochs=40)

    assert main(zsl(tmp_path / "straight")) == 0
    out = tmp_path / "run"
    watcher = _sigterm_when("runs/toy/50-50_seed1/*/train/checkpoints/last.ckpt", out)
    assert main(zsl(out)) == 143
    watcher.join()
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "action2vec zsl: stopped by SIGTERM; rerun the same command to resume"
    )
    assert not (out / "runs/toy/50-50_seed1/hrnn_attention/result.json").exists()  # stopped, not run to the end
    assert (out / "runs/toy/50-50_seed1/hrnn_attention/train/checkpoints/last.ckpt").is_file()
    assert not (out / "runs/toy/50-50_seed2/hrnn_attention/result.json").exists()  # queued: never started
    assert main(zsl(out)) == 0
    _assert_same_zsl_models(tmp_path / "straight", out, seeds=3)


def test_each_lightning_message_shows_once_without_advertisements(data, tmp_path):
    argv = [a if a != "12" else "1" for a in _argv(data, tmp_path / "run")]  # one epoch
    run = subprocess.run(
        [sys.executable, "-m", "action2vec.cli.main", *argv], env=_env(), text=True, capture_output=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stderr.splitlines()
    for message in ("GPU available", "TPU available", "`Trainer.fit` stopped"):
        assert sum(message in ln for ln in lines) == 1, (message, lines)
    assert not any("Tip:" in ln or "litlogger" in ln or "litmodels" in ln for ln in lines), lines
    assert not any("LeafSpec" in ln for ln in lines), lines  # a deprecation inside Lightning, not ours to act on
    assert not any(ln.strip() == "" for ln in lines), lines  # no empty line after each warning


def test_warnings_go_through_logging_and_known_harmless_ones_are_dropped(caplog):
    import warnings

    from action2vec.cli.main import warnings_through_logging

    with caplog.at_level(logging.WARNING, logger="py.warnings"), warnings_through_logging():
        warnings.warn("a real problem", UserWarning, stacklevel=1)
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning, stacklevel=1)
    messages = [r.getMessage() for r in caplog.records if r.name == "py.warnings"]
    assert len(messages) == 1 and "a real problem" in messages[0]  # routed through logging (above progress bars)
