"""The lambda that a real multi-epoch fit() uses at each step, read back from the run's CSV log.

The paper switches lambda after 75 % of the FIRST epoch's iterations (then keeps the final value for the
rest of the run). The expected schedule is computed here from the steps per epoch alone; a switch placed
at a fraction of the whole run (total steps) gives another schedule and fails.
"""

import math

import pytest

from action2vec.config import load_config
from action2vec.store import open_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors
from action2vec.training import RunConfig, fit, read_training_log

VIDEOS, BATCH, EPOCHS = 40, 6, 3  # 7 steps per epoch, the last batch short
INITIAL, FINAL, SWITCH = 0.9, 0.05, 0.6


@pytest.fixture(scope="module")
def run_log(tmp_path_factory):
    root = tmp_path_factory.mktemp("lambda")
    lv = synthetic_label_vectors(4, dim=6, seed=1)
    path = make_synthetic_store(root / "store.h5", lv, videos_per_class=VIDEOS // 4, steps=10, feature_dim=8, seed=1)
    cfg = load_config(
        RunConfig,
        None,
        [
            "model.preset=tiny",
            f"train.batch_size={BATCH}",
            f"train.epochs={EPOCHS}",
            "train.progress_bar=false",
            "train.log_every_n_steps=1",
            "data.val_fraction=0",
            f"loss.lambda_initial={INITIAL}",
            f"loss.lambda_final={FINAL}",
            f"loss.lambda_switch={SWITCH}",
        ],
    )
    result = fit(cfg, root / "run", store=open_store(path), label_vectors=lv)
    assert len(result.train_keys) == VIDEOS
    rows = [r for r in read_training_log(root / "run") if "train/lambda_step" in r]
    return {int(r["step"]): r for r in rows}


def test_logged_lambda_switches_within_the_first_epoch(run_log):
    steps_per_epoch = math.ceil(VIDEOS / BATCH)
    assert sorted(run_log) == list(range(EPOCHS * steps_per_epoch))  # one row per optimiser step
    got = [round(run_log[s]["train/lambda_step"], 6) for s in sorted(run_log)]
    want = [INITIAL if s < SWITCH * steps_per_epoch else FINAL for s in range(EPOCHS * steps_per_epoch)]
    assert got == pytest.approx(want), f"lambda per step {got}, want the switch at step {SWITCH * steps_per_epoch:g}"
    assert got.count(INITIAL) == math.ceil(SWITCH * steps_per_epoch)  # 5 of the first 7 steps, none later


def test_logged_lambda_is_the_one_in_the_loss(run_log):
    for step, row in run_log.items():
        total = row["train/ranking_step"] + row["train/lambda_step"] * row["train/ce_step"]
        assert row["train/loss_step"] == pytest.approx(total, rel=1e-5, abs=1e-6), step
