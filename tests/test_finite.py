"""Finite or stopped: a diverging run stops with one line naming the step and the likely setting, exports nothing
and keeps only finite checkpoints; a model folder with non-finite weights is refused by every reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from action2vec.cli.main import main
from action2vec.errors import DataError
from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diverge")
    labels = synthetic_label_vectors(3, dim=8, seed=7)
    return {
        "store": make_synthetic_store(root / "s.h5", labels, videos_per_class=8, steps=6, feature_dim=12, seed=7),
        "vectors": write_vectors_file(labels, root / "v.npz"),
    }


def _argv(data: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "train",
        "--out",
        str(out),
        "--data.store",
        str(data["store"]),
        "--data.text",
        f"vectors:{data['vectors']}",
        "--model.preset",
        "tiny",
        "--train.epochs",
        "2",
        "--train.batch_size",
        "8",
        "--data.val_fraction",
        "0",
        "--train.checkpoint_every_n_steps",
        "1",
        "--train.progress_bar",
        "false",
        *extra,
    ]


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("action2vec ")]
    assert len(lines) == 1, err
    return lines[0]


def _finite_checkpoint(path: Path) -> bool:
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    return all(bool(torch.isfinite(t).all()) for t in state.values() if t.is_floating_point())


def test_a_diverging_run_stops_with_one_line_and_exports_nothing(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_argv(data, run, "--train.lr", "1e30")) == 2
    line = _error(capsys)
    assert "training diverged at step 2 (epoch 1): the loss is nan" in line and "train.lr=1e+30" in line, line
    assert not (run / "model").exists() and not (run / "result.json").exists()
    kept = list((run / "checkpoints").glob("*.ckpt"))
    assert all(_finite_checkpoint(p) for p in kept), kept


def test_the_corrected_command_then_runs(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_argv(data, run, "--train.lr", "1e30")) == 2
    line = _error(capsys)
    aside = list(run.glob("diverged-*"))
    assert len(aside) == 1 and str(aside[0]) in line and "starts over" in line, line
    assert (aside[0] / "config.yaml").is_file() and not (run / "config.yaml").exists()
    assert not list((run / "checkpoints").glob("*.ckpt"))  # the diverged run's checkpoints are not resumed
    assert main(_argv(data, run)) == 0
    assert (run / "model" / "model.safetensors").is_file()


def test_the_divergence_line_speaks_only_of_checkpoints_that_exist(data, tmp_path, capsys):
    """Diverged before its first checkpoint (the CLI's `--train.lr 1e30` on the demo's store): the line spoke of
    "the checkpoints in RUN/checkpoints" set aside, and the diverged-* folder held none."""
    run = tmp_path / "run"
    assert main(_argv(data, run, "--train.lr", "1e30", "--train.checkpoint_every_n_steps", "1000")) == 2
    line = _error(capsys)
    aside = list(run.glob("diverged-*"))
    assert len(aside) == 1 and not list(aside[0].glob("*.ckpt"))
    assert "checkpoints in" not in line and "No checkpoint was written" in line, line


def test_export_refuses_non_finite_weights_and_writes_nothing(tmp_path):
    from action2vec.model_folder import ModelInfo, check_finite, write_model_folder
    from action2vec.models import ModelConfig
    from action2vec.text import LabelVectors

    weights = {"a.weight": torch.ones(3, 2), "b.bias": torch.tensor([0.0, float("nan"), float("inf")])}
    with pytest.raises(DataError, match=r"M/model.safetensors: b.bias holds 2 non-finite value\(s\) .* of 3"):
        check_finite(weights, "M/model.safetensors")
    check_finite({"a": np.arange(4), "b": torch.zeros(2, dtype=torch.int64)}, "x")  # integers are always finite
    info = ModelInfo(ModelConfig(input_dim=2, embed_dim=2), ["a", "b"])
    with pytest.raises(DataError, match=r"b.bias holds 2 non-finite"):
        write_model_folder(tmp_path / "M", info, weights, LabelVectors(["a", "b"], np.eye(2, dtype=np.float32)))
    assert not (tmp_path / "M").exists()


def test_classify_on_a_model_with_nan_weights_is_one_line(data, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    run = tmp_path / "run"
    assert main(_argv(data, run)) == 0
    weights_file = run / "model" / "model.safetensors"
    weights = load_file(str(weights_file))
    name = sorted(weights)[0]
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, str(weights_file), metadata={"format": "action2vec"})
    capsys.readouterr()
    assert main(["classify", "--model", str(run / "model"), "--store", str(data["store"])]) == 2
    line = _error(capsys)
    assert "model.safetensors" in line and "non-finite" in line and name in line, line
