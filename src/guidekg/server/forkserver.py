"""Assess workers forked from one warm process, so they share its compiled knowledge copy-on-write.

A spawned worker starts a fresh interpreter: ~2 s of imports and reading the compiled
knowledge cache (:mod:`guidekg.kcache`) before it can answer, and its own private copy of
every table. Here one process is spawned per pool (the *fork server*): it leaves the network
(:mod:`.sandbox`), imports the engine and warms the knowledge once, freezes it out of the
garbage collector's reach (``gc.freeze``: a collection would otherwise write to every
object's header and unshare the pages), and then forks a worker whenever the pool asks. A
fork is ready in milliseconds, answers its first request warm, and shares the knowledge
pages with its siblings; nothing is reloaded per request or per worker.

Fork is safe here because the fork server is single-threaded (checked before it reports
ready: a reasoner that started threads or a JVM makes it refuse, and the pool spawns its
workers instead) and runs no event loop; the server process itself, which has both, never
forks. The pool talks to each forked worker over its own socket pair, handed over with
``SCM_RIGHTS``, and stops it by a pidfd, so a recycled pid can never be signalled.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import socket
from multiprocessing import get_context, reduction
from multiprocessing.connection import Connection
from typing import Any

from .worker import WorkerSettings, _open, answer_loop, prepare

_CONTEXT = get_context("spawn")


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _fork_one(conn: Connection, settings: WorkerSettings, state: Any, version: int, isolated: bool) -> int:
    """Fork a worker on a new socket pair; send the pool its end; return the worker's pid."""
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the worker: answer requests on its end until the pool closes it
        code = 0
        try:
            conn.close()
            ours.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            answer_loop(Connection(theirs.detach()), settings, state, version, isolated)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    theirs.close()
    reduction.send_handle(conn, ours.fileno(), os.getppid())
    ours.close()
    return pid


def fork_server(conn: Connection, settings: WorkerSettings, version: int = 0) -> None:
    """Process entry point: prepare and warm up once, then fork a worker per ``"fork"`` message."""
    isolated = prepare(settings)
    try:
        state = _open(settings, version)
        from . import assess  # noqa: F401 - imported once here, not by every worker on its first request
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    if _threads() != 1:
        conn.send(("failed", f"the warmed-up process runs {_threads()} threads; forking it would not be safe"))
        return
    gc.collect()
    gc.freeze()  # the warm knowledge stays out of every collection: its pages stay shared with the workers
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished workers; the pool never waits on them
    conn.send(("ready", os.getpid(), isolated))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message != "fork":
            return
        conn.send(("forked", _fork_one(conn, settings, state, version, isolated)))


class ForkedProcess:
    """A worker forked by the fork server: what the pool needs of a process (pid, kill, join)."""

    exitcode = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd = os.pidfd_open(pid)

    def kill(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._fd, signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        if self._fd >= 0:
            select.select([self._fd], [], [], timeout)
            os.close(self._fd)
            self._fd = -1


def available() -> bool:
    """Forking workers needs ``fork`` and pidfds (Linux 5.3+); elsewhere the pool spawns them."""
    return hasattr(os, "fork") and hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


class ForkServer:
    """The pool's handle on its fork server: start it once, then ``fork()`` workers from it."""

    def __init__(self, settings: WorkerSettings, version: int, startup_timeout: float) -> None:
        self.settings, self.version, self.startup_timeout = settings, version, startup_timeout
        self._process: Any = None
        self._conn: Connection | None = None

    def start(self) -> bool:
        """Start the fork server; False (and nothing left running) when it refuses to fork."""
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=fork_server, args=(child, self.settings, self.version), daemon=True,
                                   name="guidekg-assess-forkserver")
        process.start()
        child.close()
        message: Any = ("failed", f"it did not start within {self.startup_timeout:.0f} s")
        try:
            if parent.poll(self.startup_timeout):
                message = parent.recv()
        except (EOFError, OSError):
            message = ("failed", f"it exited with code {process.exitcode}")
        if message[0] != "ready":
            self._stop(process, parent)
            raise RuntimeError(f"the assess fork server failed to start: {message[1]}")
        self._process, self._conn = process, parent
        return True

    def fork(self) -> tuple[ForkedProcess, Connection]:
        """A new warm worker and the pool's end of its pipe (the worker then sends ``ready`` as a spawned one does)."""
        if self._conn is None or not self._process.is_alive():
            self.close()
            self.start()
        assert self._conn is not None
        self._conn.send("fork")
        fd = reduction.recv_handle(self._conn)
        _, pid = self._conn.recv()
        return ForkedProcess(pid), Connection(fd)

    @staticmethod
    def _stop(process: Any, conn: Connection) -> None:
        with contextlib.suppress(Exception):
            conn.close()
        with contextlib.suppress(Exception):
            process.kill()
            process.join(5)

    def close(self) -> None:
        if self._process is not None and self._conn is not None:
            self._stop(self._process, self._conn)
        self._process = self._conn = None
