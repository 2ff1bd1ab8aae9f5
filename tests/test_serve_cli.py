"""``action2vec serve``: bad input is one line and exit 2 before any work; the real command serves the run folder
on 127.0.0.1, prints its URL and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the explorer needs the serve extra: pip install -e '.[serve]'")

from action2vec.cli.main import main  # noqa: E402
from action2vec.serve import Explorer  # noqa: E402


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the command gets as far as loading the model."""

    def never(*args, **kwargs):
        raise AssertionError("the explorer was opened before the input was checked")

    monkeypatch.setattr(Explorer, "open", never)


def test_bad_input_is_one_line_and_exit_2_before_loading(toy_run, tmp_path, capsys, no_model):
    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert "run folder not found" in _one_line(capsys)
    assert main(["serve", str(tmp_path)]) == 2
    assert "not a run folder" in _one_line(capsys)
    assert main(["serve"]) == 2
    assert "give a run folder" in _one_line(capsys)
    assert main(["serve", str(toy_run), "--port", "70000"]) == 2
    assert "--port: 70000 is out of range (must be >= 0 and <= 65535)" in _one_line(capsys)
    assert main(["serve", str(toy_run), "--port", "http"]) == 2
    assert "--port" in _one_line(capsys)
    assert main(["serve", str(toy_run), "--host", "no-such-host.invalid"]) == 2
    assert "--host: cannot listen on 'no-such-host.invalid'" in _one_line(capsys)
    assert main(["serve", str(toy_run), "--serve.max_upload_mb", "0"]) == 2
    assert "serve.max_upload_mb" in _one_line(capsys)
    assert main(["serve", str(toy_run), "--videos", str(tmp_path / "nowhere")]) == 2
    assert "--videos folder not found" in _one_line(capsys)
    assert main(["serve", "--model", str(toy_run / "model")]) == 2
    assert "--store" in _one_line(capsys)


def test_a_busy_port_is_one_line_before_loading(toy_run, capsys, no_model):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(toy_run), "--port", str(port)]) == 2
    assert f"--port: cannot listen on 127.0.0.1:{port}" in _one_line(capsys)


def test_an_index_of_another_model_is_refused(toy_run, tmp_path, capsys):
    from action2vec.search import build_index
    from action2vec.store import open_store

    store = open_store(toy_run.parent / "features.h5")
    build_index(
        np.ones((len(store), 384), np.float32), store.keys, store.labels, tmp_path / "idx", model_fingerprint="0" * 64
    )
    assert main(["serve", str(toy_run), "--index", str(tmp_path / "idx"), "--port", "0"]) == 2
    assert "made by another model" in _one_line(capsys)


@pytest.mark.slow
def test_serve_a_run_folder_then_stop_with_ctrl_c(toy_run, tmp_path):
    """The real command in a process: its run folder's own index is used, the URL printed is 127.0.0.1 and
    answers, Ctrl-C stops it with status 0."""
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)  # the session's shared run folder must not get an index of this test's
    assert main(["index", str(run), "--embed.progress", "false"]) == 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "action2vec.cli.main", "serve", str(run), "--port", "0", "--serve.map_videos", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()  # blocks until the URL is printed (or the process ends)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + proc.stderr.read()
        with urllib.request.urlopen(match.group(0) + "api/info", timeout=60) as response:
            info = json.load(response)
        assert info["videos"] == 18 and info["index"]["source"] == str(run / "index")
        with urllib.request.urlopen(match.group(0), timeout=60) as response:
            assert b"Action2Vec explorer" in response.read()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "explorer stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
