"""A pool of worker processes with a hard time limit per request.

Each request borrows one idle worker, sends it the request over a pipe and waits at most the
time limit for the answer. A worker that overruns is killed (SIGKILL, by its own pid) and a
fresh one is started in the background while the others keep serving, so one runaway query
costs one worker for a few seconds, never the server. When every worker is busy a request
waits for one up to ``queue_timeout`` and is then answered 503.

Assess workers are forked from one warm process (:mod:`.forkserver`) so they share its
compiled knowledge; query and writer workers are spawned (each opens its own store).

Each request is sent with a store version: the newest snapshot for a query worker, a fresh
version number for the writer's update (:mod:`.store`). Nothing is replayed: a replaced
worker opens the current snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from .forkserver import ForkServer
from .forkserver import available as forks_available
from .sparql import Reply, UpdateRequest
from .store import Snapshots
from .worker import WorkerSettings, serve

log = logging.getLogger("guidekg.server")
_CONTEXT = mp.get_context("spawn")  # fork would copy the server's threads and event loop into the child
_TIMEOUT, _DEAD = object(), object()


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    version: int = 0
    """The store snapshot this worker has open (query workers)."""


@dataclass
class PoolStats:
    workers: int = 0
    requests: int = 0
    timeouts: int = 0
    replaced: int = 0
    busy_refusals: int = 0
    updates: int = 0
    starting: int = field(default=0)
    isolated: bool | None = None
    """Whether every worker started so far runs without network access (None before the first)."""
    forked: bool = False
    """Whether the workers are forked from a warm fork server (assess pools), sharing its knowledge."""


class WorkerPool:
    def __init__(self, settings: WorkerSettings, snapshots: Snapshots, size: int = 2, queue_timeout: float = 30.0,
                 startup_timeout: float = 180.0) -> None:
        if size < 1:
            raise ValueError("the pool needs at least one worker")
        self.settings, self.size, self.snapshots = settings, size, snapshots
        self.queue_timeout, self.startup_timeout = queue_timeout, startup_timeout
        self.stats = PoolStats()
        self._threads = ThreadPoolExecutor(max_workers=2 * size + 2, thread_name_prefix="guidekg-pool")
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._update_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        self._forks = ForkServer(settings, snapshots.current, startup_timeout) \
            if settings.role == "assess" and forks_available() else None
        self._fork_lock = threading.Lock()  # one fork at a time over the fork server's pipe

    @property
    def idle(self) -> int:
        """Workers waiting for a request right now."""
        return self._idle.qsize()

    def _start_process(self, version: int) -> tuple[Any, Connection]:
        if self._forks is not None:
            with self._fork_lock:
                return self._forks.fork()
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=serve, args=(child, self.settings, version), daemon=True,
                                   name=f"guidekg-{self.settings.role}")
        process.start()
        child.close()
        return process, parent

    def _spawn(self) -> _Worker:
        version = self.snapshots.current
        process, parent = self._start_process(version)
        if not parent.poll(self.startup_timeout):
            self._kill(_Worker(process, parent))
            raise RuntimeError(f"a worker did not start within {self.startup_timeout:.0f} s")
        try:
            message = parent.recv()
        except EOFError:
            message = ("failed", f"the worker exited with code {process.exitcode}")
        if message[0] != "ready":
            self._kill(_Worker(process, parent))
            raise RuntimeError(f"a worker failed to start: {message[1]}")
        isolated = bool(message[2])
        self.stats.isolated = isolated if self.stats.isolated is None else (self.stats.isolated and isolated)
        return _Worker(process, parent, version)

    def _start_forks(self) -> None:
        """Warm the fork server up; if it cannot fork safely, say why and spawn workers instead."""
        assert self._forks is not None
        try:
            self._forks.start()
        except RuntimeError as exc:
            log.warning("%s; spawning each assess worker instead", exc)
            self._forks = None
        self.stats.forked = self._forks is not None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._forks is not None:
            await loop.run_in_executor(self._threads, self._start_forks)
        workers = await asyncio.gather(*(loop.run_in_executor(self._threads, self._spawn) for _ in range(self.size)))
        for worker in workers:
            self._all.add(worker)
            self._idle.put_nowait(worker)
        self.stats.workers = len(workers)

    @staticmethod
    def _kill(worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            worker.process.kill()
            worker.process.join(5)
        with contextlib.suppress(Exception):
            worker.conn.close()

    async def _replace(self, worker: _Worker) -> None:
        self._all.discard(worker)
        self.stats.workers = len(self._all)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, self._kill, worker)
        self.stats.replaced += 1
        self.stats.starting += 1
        try:
            for attempt in range(5):
                if self._closed:
                    return
                try:
                    fresh = await loop.run_in_executor(self._threads, self._spawn)
                except Exception as exc:  # keep serving with fewer workers; try again shortly
                    log.error("replacing a worker failed (attempt %d): %s", attempt + 1, exc)
                    await asyncio.sleep(2 ** attempt)
                    continue
                if self._closed:
                    self._kill(fresh)
                    return
                self._all.add(fresh)
                self.stats.workers = len(self._all)
                self._idle.put_nowait(fresh)
                return
        finally:
            self.stats.starting -= 1

    def _schedule_replace(self, worker: _Worker) -> None:
        task = asyncio.create_task(self._replace(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _receive(conn: Connection, timeout: float) -> object:
        """Wait in a pool thread for the worker's answer. (Reading it on the event loop instead,
        piece by piece, was measured: ~10-25% fewer SPARQL answers a second under 8 clients,
        no clear gain for /recommend; the thread reads a large answer in one go.)"""
        try:
            if not conn.poll(timeout):
                return _TIMEOUT
            return conn.recv()
        except (EOFError, OSError):
            return _DEAD

    async def call(self, payload: object, timeout: float, what: str = "query") -> Reply:
        """Run one request in a worker; 503 when it overruns ``timeout`` or no worker frees up."""
        if isinstance(payload, UpdateRequest):
            async with self._update_lock:
                return await self._call(payload, timeout, what)
        return await self._call(payload, timeout, what)

    async def _call(self, payload: object, timeout: float, what: str) -> Reply:
        try:
            worker = await asyncio.wait_for(self._idle.get(), self.queue_timeout)
        except TimeoutError:
            self.stats.busy_refusals += 1
            return Reply(503, "text/plain; charset=utf-8",
                         f"all {self.size} workers stayed busy for {self.queue_timeout:g} s; try again later\n".encode(),
                         {"Retry-After": "5"})
        self.stats.requests += 1
        writing = isinstance(payload, UpdateRequest)
        version = self.snapshots.reserve() if writing else self.snapshots.current
        if not writing:
            worker.version = version  # before it is sent: a busy worker's snapshot must not be pruned under it
        loop = asyncio.get_running_loop()
        answer: object = _DEAD
        try:
            worker.conn.send((payload, version))
            answer = await loop.run_in_executor(self._threads, self._receive, worker.conn, timeout)
        except (OSError, ValueError):
            answer = _DEAD
        finally:
            if not isinstance(answer, Reply) or answer.status == 503:  # timed out, died, cancelled or lost its store
                self._schedule_replace(worker)
        if answer is _TIMEOUT:
            self.stats.timeouts += 1
            return Reply.text(503, f"the {what} ran longer than the server's time limit of {timeout:g} s and was stopped")
        if not isinstance(answer, Reply):
            return Reply.text(503, f"the worker running this {what} stopped (it may have passed the server's memory limit); "
                                   "it has been replaced")
        if answer.status == 503:
            return answer
        if writing and answer.status < 300:
            self.snapshots.commit(version)
            self.stats.updates += 1
        elif not writing:
            self.snapshots.prune({w.version for w in self._all})
        self._idle.put_nowait(worker)
        return answer

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        loop = asyncio.get_running_loop()
        for worker in list(self._all):
            with contextlib.suppress(Exception):
                worker.conn.send(None)
            await loop.run_in_executor(self._threads, self._kill, worker)
        self._all.clear()
        if self._forks is not None:
            await loop.run_in_executor(self._threads, self._forks.close)
        self._threads.shutdown(wait=False, cancel_futures=True)
