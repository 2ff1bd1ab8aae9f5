"""Listening for the explorer: the socket is bound first (a bad host or a busy port is one line before any
work), then uvicorn serves the app on it.

    sock = bind("127.0.0.1", 8000)                 # ConfigError naming --host / --port
    server = make_server(create_app(explorer, allowed_hosts(sock)), sock)
    server.run(sockets=[sock])

    with serve_in_thread(app, bind("127.0.0.1", 0)) as url:   # tests, notebooks: a server in a thread
        ...                                                     # stopped when the block ends
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from action2vec.errors import ConfigError

__all__ = ["bind", "url_of", "is_loopback", "allowed_hosts", "make_server", "serve_in_thread"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port); ConfigError naming the option when the
    host is unknown or the port cannot be had."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port: {port} is out of range (must be >= 0 and <= 65535)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
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
    """A uvicorn server for ``app`` on the bound ``sock``, logging through the root logger."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=access_log,
                            log_level="info" if access_log else "warning", lifespan="off")
    return uvicorn.Server(config)


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
