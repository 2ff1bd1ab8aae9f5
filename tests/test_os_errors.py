"""The operating system refuses an output (no space left, permission denied, read-only file system): one line
naming the path, exit 2, and what was finished is kept, so the same command resumes and ends as a run never
refused. The refusals are raised by monkeypatching the write (root ignores chmod; no tmpfs to fill here)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.store import open_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file
from action2vec.video.synthetic import level_frames, write_video


def _refusal(code: int, path: str | Path) -> OSError:
    return OSError(code, os.strerror(code), str(path))


def _one_line(capsys) -> str:
    """The command's one error line (progress lines are logged to stderr too); no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("action2vec ")]
    assert len(lines) == 1, err
    return lines[0]


def _fail_on_call(monkeypatch, target: str, n: int, code: int, arg: int = 0):
    """Make the ``n``-th call of ``target`` (module.attr) raise OSError ``code`` naming its ``arg``-th argument."""
    import importlib

    module_name, attr = target.rsplit(".", 1)
    module = importlib.import_module(module_name)
    real = getattr(module, attr)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            target = args[arg]
            if not isinstance(target, (str, Path)):  # an open file (h5py's, Python's): the path it writes
                target = getattr(target, "filename", None) or getattr(target, "name", None) or target
            raise _refusal(code, target)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, attr, wrapper)
    return calls


@pytest.fixture
def videos(tmp_path):
    lines = []
    for i, label in enumerate(["jump", "jump", "spin", "spin"]):
        frames = level_frames(20 + 4 * i, 48, 64)
        lines.append(f"{write_video(tmp_path / f'v{i}.mp4', frames, fps=12)}\t{label}")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    return tmp_path / "list.txt"


def _extract(videos: Path, out: Path) -> int:
    return main(
        [
            "extract",
            "--list",
            str(videos),
            "--backbone",
            "c3d-tiny",
            "--random-weights",
            "--video.duration",
            "1",
            "--compute.workers",
            "0",
            "--compute.progress",
            "false",
            "--compute.flush_every",
            "1",
            "--out",
            str(out),
        ]
    )


def _store_arrays(path: Path) -> dict[str, np.ndarray]:
    store = open_store(path)
    return {k: store.get(i)[0] for i, k in enumerate(store.keys)}


def test_extract_into_a_full_disk_is_one_line_and_the_rerun_equals_an_uninterrupted_run(
    videos, tmp_path, capsys, monkeypatch
):
    whole = tmp_path / "whole.h5"
    assert _extract(videos, whole) == 0
    capsys.readouterr()
    out = tmp_path / "out" / "s.h5"
    _fail_on_call(monkeypatch, "action2vec.store.hdf5._create_features", 3, errno.ENOSPC)  # the third part file
    assert _extract(videos, out) == 2
    line = _one_line(capsys)
    assert "no space left on the device" in line and ".h5" in line and "rerun the same command" in line, line
    monkeypatch.undo()
    assert _extract(videos, out) == 0  # space again: resumes from the two kept part files
    got, want = _store_arrays(out), _store_arrays(whole)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])


@pytest.mark.parametrize("code, words", [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system")])
def test_a_refused_store_folder_is_one_line_naming_it(videos, tmp_path, capsys, monkeypatch, code, words):
    _fail_on_call(monkeypatch, "action2vec.store.hdf5._create_features", 1, code)
    assert _extract(videos, tmp_path / "s.h5") == 2
    line = _one_line(capsys)
    assert line.startswith("action2vec extract: error: ") and words in line and "s.h5" in line, line


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("oserr")
    lv = synthetic_label_vectors(4, dim=8, seed=3)
    store = make_synthetic_store(root / "s.h5", lv, videos_per_class=8, steps=8, feature_dim=16, seed=3)
    return {"store": store, "vectors": write_vectors_file(lv, root / "v.npz")}


def _train_argv(small, out: Path) -> list[str]:
    return [
        "train",
        "--out",
        str(out),
        "--data.store",
        str(small["store"]),
        "--data.text",
        f"vectors:{small['vectors']}",
        "--model.preset",
        "tiny",
        "--train.epochs",
        "3",
        "--train.batch_size",
        "8",
        "--train.checkpoint_every_n_steps",
        "2",
        "--train.progress_bar",
        "false",
        "--data.val_fraction",
        "0",
    ]


def _weights(model_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(model_dir / "model.safetensors"))


def test_train_into_a_full_disk_is_one_line_and_the_rerun_equals_an_uninterrupted_run(
    small, tmp_path, capsys, monkeypatch
):
    assert main(_train_argv(small, tmp_path / "whole")) == 0
    capsys.readouterr()
    _fail_on_call(monkeypatch, "lightning.fabric.plugins.io.torch_io._atomic_save", 3, errno.ENOSPC, arg=1)
    assert main(_train_argv(small, tmp_path / "run")) == 2
    line = _one_line(capsys)
    assert "no space left on the device" in line and ".ckpt" in line, line
    assert not (tmp_path / "run" / "model").exists()
    assert list((tmp_path / "run" / "checkpoints").glob("*.ckpt"))  # the checkpoints saved before are kept
    monkeypatch.undo()
    assert main(_train_argv(small, tmp_path / "run")) == 0
    got, want = _weights(tmp_path / "run" / "model"), _weights(tmp_path / "whole" / "model")
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])


def test_index_into_a_full_disk_is_one_line_and_the_rerun_builds_it(small, tmp_path, capsys, monkeypatch):
    assert main(_train_argv(small, tmp_path / "run")) == 0
    capsys.readouterr()
    _fail_on_call(monkeypatch, "action2vec.search.embed.save_npy", 1, errno.ENOSPC)
    assert main(["index", str(tmp_path / "run"), "--embed.progress", "false"]) == 2
    line = _one_line(capsys)
    assert "no space left on the device" in line and "/run/index/" in line, line
    monkeypatch.undo()
    assert main(["index", str(tmp_path / "run"), "--embed.progress", "false"]) == 0
    capsys.readouterr()
    assert main(["search", str(tmp_path / "run"), "class001", "--k", "3"]) == 0


def test_index_out_naming_an_existing_file_is_one_line(small, tmp_path, capsys):
    assert main(_train_argv(small, tmp_path / "run")) == 0
    capsys.readouterr()
    taken = tmp_path / "taken.txt"
    taken.write_text("mine\n")
    assert main(["index", str(tmp_path / "run"), "--out", str(taken), "--embed.progress", "false"]) == 2
    line = _one_line(capsys)
    assert "taken.txt" in line, line
    assert taken.read_text() == "mine\n"


def test_refusals_are_found_however_the_libraries_wrap_them():
    from action2vec.cli.main import os_refusal

    h5py_style = OSError(
        "Unable to synchronously create file (unable to open file: name = '/data/s.h5', errno = 28, "
        "error message = 'No space left on device', flags = 13, o_flags = 242)"
    )
    assert os_refusal(h5py_style).startswith("/data/s.h5: no space left on the device; ")
    try:
        try:
            raise _refusal(errno.EROFS, "/ro/run/checkpoints/last.ckpt")
        except OSError as exc:
            raise RuntimeError("saving the checkpoint failed") from exc
    except RuntimeError as wrapped:
        assert os_refusal(wrapped).startswith("/ro/run/checkpoints/last.ckpt: read-only file system; ")
    assert os_refusal(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))).startswith("disk quota exceeded; ")
    assert os_refusal(OSError(errno.ECONNRESET, "reset")) is None  # not a refused output: still a bug's traceback
    assert os_refusal(ValueError("no")) is None


def test_a_full_disk_during_a_move_names_where_it_was_written_not_the_temporary_file():
    """Lightning saves a checkpoint to a temporary file in the system's temp folder and moves it into the run
    folder; the move's copy fails with both paths in the error (seen on a 20 MB tmpfs): the line must name the
    run folder's file that could not be written, not the temporary file elsewhere."""
    from action2vec.cli.main import os_refusal

    move = OSError(
        errno.ENOSPC, os.strerror(errno.ENOSPC), "/tmp/tmpnb8tljvj", None, "/small/run/checkpoints/last.ckpt"
    )
    assert os_refusal(move).startswith("/small/run/checkpoints/last.ckpt: no space left on the device; ")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full (every write: no space)")
def test_an_array_written_to_a_full_device_is_refused_naming_it():
    """numpy writes a real file with ``tofile`` and reports a short write as "27648 requested and 18400 written",
    with no errno and no path (``index`` into a 20 MB tmpfs ended in that traceback, exit 1); /dev/full refuses
    every write as a full disk does."""
    from action2vec.cli.main import os_refusal
    from action2vec.io import save_npy

    with pytest.raises(OSError) as caught:
        save_npy("/dev/full", np.ones((64, 384), dtype=np.float32))
    assert os_refusal(caught.value).startswith("/dev/full: no space left on the device; ")
