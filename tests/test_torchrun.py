"""Data-parallel training under torchrun (2 CPU processes, gloo) follows the single-process trajectory."""

import csv
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file


def _losses(run_dir):
    rows = []
    for path in sorted((run_dir / "logs" / "csv").glob("version_*/metrics.csv")):
        with path.open() as fh:
            rows += [r for r in csv.DictReader(fh) if r.get("train/loss_step")]
    return {int(r["step"]): float(r["train/loss_step"]) for r in rows}


def _free_port() -> int:
    """A port no other process listens on (a fixed one collides when pytest -n runs two of these at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_process_torchrun_matches_single_process(tmp_path):
    lv = synthetic_label_vectors(8, dim=8, seed=1)
    store = make_synthetic_store(tmp_path / "s.h5", lv, videos_per_class=8, steps=16, feature_dim=16, seed=1)
    vectors = write_vectors_file(lv, tmp_path / "v.npz")
    common = [
        "train",
        "--data.store",
        str(store),
        "--data.text",
        f"vectors:{vectors}",
        "--data.val_fraction",
        "0",
        "--model.preset",
        "tiny",
        "--train.epochs",
        "2",
        "--train.batch_size",
        "16",
        "--train.log_every_n_steps",
        "1",
        "--train.progress_bar",
        "false",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single = subprocess.run(
        [sys.executable, "-m", "action2vec.cli.main", *common, "--out", str(tmp_path / "one")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stderr[-2000:]
    ddp = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--master-port",
            str(_free_port()),
            "-m",
            "action2vec.cli.main",
            *common,
            "--out",
            str(tmp_path / "two"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert "MEMBER: 2/2" in ddp.stderr + ddp.stdout  # Lightning really ran two ranks
    one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(one) == 8 and one.keys() == two.keys()  # 64 videos / 16 per step x 2 epochs
    np.testing.assert_allclose([two[k] for k in sorted(two)], [one[k] for k in sorted(one)], rtol=2e-3, atol=1e-4)
    assert (tmp_path / "two" / "model" / "model.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("lambdas, strategy", [(("0", "0"), "auto"), (("1", "0"), "auto"), (("1", "0"), "ddp")])
def test_two_process_torchrun_trains_without_the_ce_term(tmp_path, lambdas, strategy):
    """The cosine-only ablation (hrnn_cosine: both lambdas 0) builds no classification head, and a head that
    stops getting gradients after the switch (lambda_final 0) is allowed: DDP refused unused parameters."""
    from action2vec.inference import Action2Vec

    lv = synthetic_label_vectors(4, dim=8, seed=1)
    store = make_synthetic_store(tmp_path / "s.h5", lv, videos_per_class=8, steps=16, feature_dim=16, seed=1)
    vectors = write_vectors_file(lv, tmp_path / "v.npz")
    ddp = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--master-port",
            str(_free_port()),
            "-m",
            "action2vec.cli.main",
            "train",
            "--data.store",
            str(store),
            "--data.text",
            f"vectors:{vectors}",
            "--model.preset",
            "tiny",
            "--train.epochs",
            "2",
            "--train.batch_size",
            "8",
            "--train.progress_bar",
            "false",
            "--train.accelerator",
            "cpu",
            "--loss.lambda_initial",
            lambdas[0],
            "--loss.lambda_final",
            lambdas[1],
            "--train.strategy",
            strategy,
            "--out",
            str(tmp_path / "two"),
        ],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert Action2Vec.load(tmp_path / "two" / "model").info.model.classifier is (lambdas != ("0", "0"))
