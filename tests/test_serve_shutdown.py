"""``action2vec serve`` stops within 5 s of Ctrl-C or SIGTERM whatever is in flight, and a client that goes away
mid-request is one INFO line, not an ERROR with tracebacks (the real command in a process, on a free port)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("fastapi", reason="the explorer needs the serve extra: pip install -e '.[serve]'")

UPLOAD_HEAD = (
    "POST /api/upload?name=clip.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
)


def _partial_upload(port: int) -> socket.socket:
    """A connection that has sent the head of a 1 MB upload and 1 kB of its body, and then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(UPLOAD_HEAD.encode("ascii") + b"\0" * 1024)
    return sock


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_stops_within_5_s_with_an_upload_in_flight_and_a_gone_client_is_one_info_line(toy_run, signum):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "action2vec.cli.main", "serve", str(toy_run), "--port", "0", "--serve.map_videos", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()  # the URL, once the server listens
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + proc.stderr.read()
        port = int(match.group(1))
        gone = _partial_upload(port)
        time.sleep(0.5)
        gone.close()  # a client that goes away mid-upload
        time.sleep(0.5)
        stuck = _partial_upload(port)  # one that never finishes
        time.sleep(0.5)
        start = time.monotonic()
        proc.send_signal(signum)
        try:
            proc.wait(timeout=30)
        finally:
            stuck.close()
        elapsed = time.monotonic() - start
        err = proc.stderr.read()
        assert elapsed < 5, (elapsed, err)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and " ERROR " not in err, err
        gone_lines = [ln for ln in err.splitlines() if "went away" in ln]
        assert len(gone_lines) == 1 and " INFO " in gone_lines[0], err
        assert "explorer stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
