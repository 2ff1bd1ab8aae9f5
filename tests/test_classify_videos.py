"""From video files to labels: extract -> train -> classify --video gives what classify --store gives."""

import json

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.video.synthetic import write_video


@pytest.mark.slow
def test_classify_video_files_matches_the_store_path(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for c, label in enumerate(["alpha", "beta", "gamma"]):
        for j in range(3):
            frames = np.full((20 + 5 * j, 48, 64, 3), 40 * c, np.uint8)
            frames[:, :, : 8 * (c + 1)] = rng.integers(0, 255, (1, 48, 8 * (c + 1), 3), dtype=np.uint8)
            path = write_video(tmp_path / f"{label}_{j}.mp4", frames, fps=25)
            lines.append(f"{path}\t{label}")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    store = tmp_path / "s.h5"
    assert main(["extract", "--list", str(tmp_path / "list.txt"), "--backbone", "c3d-tiny", "--random-weights",
                 "--video.duration", "1.5", "--compute.workers", "0", "--compute.progress", "false",
                 "--out", str(store)]) == 0
    vec = tmp_path / "v.npz"
    np.savez(vec, names=np.array(["alpha", "beta", "gamma"]), vectors=np.eye(3, 4, dtype=np.float32))
    assert main(["train", "--out", str(tmp_path / "run"), "--data.store", str(store), "--data.text",
                 f"vectors:{vec}", "--model.preset", "tiny", "--model.window", "2", "--model.window_stride", "2",
                 "--train.epochs", "2", "--train.progress_bar", "false", "--data.val_fraction", "0"]) == 0
    model = str(tmp_path / "run" / "model")
    video = str(tmp_path / "beta_1.mp4")
    assert main(["classify", "--model", model, "--video", video, "--top-k", "3",
                 "--json", str(tmp_path / "a.json")]) == 0
    assert main(["classify", "--model", model, "--store", str(store), "--keys", video, "--top-k", "3",
                 "--json", str(tmp_path / "b.json")]) == 0
    a, b = (json.loads((tmp_path / n).read_text())[0] for n in ("a.json", "b.json"))
    assert a["labels"] == b["labels"] and sorted(a["labels"]) == ["alpha", "beta", "gamma"]
    np.testing.assert_allclose(a["scores"], b["scores"], atol=1e-5)
    assert main(["classify", "--model", model, "--video", str(tmp_path / "missing.mp4")]) == 2
