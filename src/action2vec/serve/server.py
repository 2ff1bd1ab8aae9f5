"""Listening for the explorer: the socket is bound first (a bad host or a busy port is one line before any
work), then uvicorn serves the app on it.

    sock = bind("127.0.0.1", 8000)                 # ConfigError naming --host / --port
    server = make_server(create_app(explorer, allowed_hosts(sock)), sock)
    server.run(sockets=[sock])

    with serve_in_thread(app, bind("127.0.0.1", 0)) as url:   # tests, notebooks: a server in a thread
        ...                                                     # stopped when the block ends
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from action2vec.errors import ConfigError
from action2vec.extras import require

log = logging.getLogger(__name__)

__all__ = ["bind", "url_of", "is_loopback", "allowed_hosts", "make_server", "serve_in_thread", "SHUTDOWN_GRACE_S"]

# Seconds a stopping server (Ctrl-C, SIGTERM) lets requests in flight finish before it cancels them: a client
# that never sends the rest of its upload must not keep the server alive.
SHUTDOWN_GRACE_S = 2.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port); ConfigError naming the option when the
    host is unknown or the port cannot be had."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port: {port} is out of range (must be >= 0 and <= 65535)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host: cannot listen on {host!r} ({getattr(exc, 'strerror', None) or exc})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)  # from here connections wait in the kernel's queue until uvicorn serves them
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--port: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.set_inheritable(True)
    return sock


def is_loopback(sock: socket.socket) -> bool:
    """Whether the socket is bound to a loopback address (reachable from this machine only)."""
    try:
        return ipaddress.ip_address(sock.getsockname()[0]).is_loopback
    except ValueError:
        return False


def url_of(sock: socket.socket) -> str:
    """``http://HOST:PORT/`` of a bound socket (IPv6 addresses in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def allowed_hosts(sock: socket.socket, names: Sequence[str] = ()) -> tuple[str, ...] | None:
    """The Host header names a server on ``sock`` answers: the loopback names (and ``names``) for a
    loopback socket, None (any) for one other machines reach."""
    from action2vec.serve.app import LOCAL_HOSTS

    return (*LOCAL_HOSTS, *names) if is_loopback(sock) else None


def make_server(app: Any, sock: socket.socket, access_log: bool = False) -> Any:
    """A uvicorn server for ``app`` on the bound ``sock``, logging through the root logger; on Ctrl-C or
    SIGTERM it stops within ``SHUTDOWN_GRACE_S`` seconds (and a little more), whatever is in flight."""
    require("uvicorn", "the web explorer")
    import uvicorn

    host, port = sock.getsockname()[:2]
    # uvicorn annotates timeout_graceful_shutdown as int but hands it to asyncio.timeout, which takes seconds as float
    config = uvicorn.Config(
        _QuietWhenCancelled(app),
        host=host,
        port=port,
        log_config=None,
        access_log=access_log,
        log_level="info" if access_log else "warning",
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,  # type: ignore[arg-type]
    )
    _cancelled_requests_are_news()
    return uvicorn.Server(config)


class _QuietWhenCancelled:
    """The app, whose requests cancelled by a stopping server end quietly: uvicorn cancels the requests still
    in flight ``SHUTDOWN_GRACE_S`` after Ctrl-C or SIGTERM (and only then), and would log each as an "Exception
    in ASGI application" with its traceback."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = False

        async def sending(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message.get("type") == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except asyncio.CancelledError:
            log.info("stopped answering %s %s: the server is stopping", scope.get("method", ""), scope.get("path", ""))
            if scope.get("type") == "http" and not started:  # tell the client, if it still listens
                body = b'{"error": "the server is stopping"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"connection", b"close"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})


class _CancelIsNotAnError(logging.Filter):
    """uvicorn logs the requests it cancels at shutdown as an ERROR; cancelling them is what was asked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and str(record.msg).startswith("Cancel %s running task"):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _cancelled_requests_are_news() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _CancelIsNotAnError) for f in logger.filters):
        logger.addFilter(_CancelIsNotAnError())


@contextmanager
def serve_in_thread(app: Any, sock: socket.socket, timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` on the bound ``sock`` from a background thread; yields the URL once it answers, stops
    the server (and closes the socket) when the block ends."""
    server = make_server(app, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="action2vec-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on {url_of(sock)} did not start")
        time.sleep(0.02)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
