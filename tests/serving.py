"""A real guidekg server on a free loopback port, in-process (uvicorn in a thread), for tests.

Timeouts, worker replacement and concurrency need a real server and real worker processes;
FastAPI's TestClient runs requests one at a time in the test's thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from guidekg.server.app import create_app
from guidekg.server.limits import ServerConfig

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_from(address: str, timeout: float = 60) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (another 127.x.y.z loopback address).

    The server gives each client address its own share of the workers; tests that need two
    distinct clients on one machine send from two loopback addresses.
    """
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=timeout)


def sample_csv(folder: Path, rows: int = 3) -> Path:
    """The first ``rows`` patients of the README's example case sheet."""
    lines = (ROOT / "examples" / "patients.csv").read_text(encoding="utf-8").splitlines()
    path = folder / "sample.csv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return path


@contextmanager
def live_server(config: ServerConfig, startup: float = 180.0) -> Iterator[str]:
    """Yield the base URL of a running server; stop it (and its workers) afterwards."""
    with live_app(config, startup) as (url, _):
        yield url


@contextmanager
def live_app(config: ServerConfig, startup: float = 180.0) -> Iterator[tuple[str, Any]]:
    """:func:`live_server`, also yielding the app (tests that look at its worker pools)."""
    port = free_port()
    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="guidekg-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(30)
