"""The worker process: a private copy of the served dataset, answering one request at a time.

A worker is the unit the time limit acts on. pyoxigraph cannot cancel a running query and a
Python thread cannot be stopped, so a request that runs past its limit is ended by killing
the whole worker process (:mod:`.pool` then starts a fresh one). Keeping each worker
single-threaded is what makes that safe: nothing else is lost with it.

SPARQL updates are kept consistent across workers by replaying: the pool keeps the list of
accepted updates, and each request carries the ones this worker has not applied yet.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection

import pyoxigraph as ox

from .sparql import QueryRequest, Reply, UpdateRequest, execute_query, execute_update


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to build its state (picklable: workers are spawned, not forked)."""

    dataset: str
    """Path of an N-Quads file with the whole served dataset."""
    reasoner: str = "fast"
    max_results: int = 100_000


@dataclass(frozen=True)
class RecommendRequest:
    body: bytes
    media_type: str
    accept: str | None = None
    explain: bool = False


def _load(settings: WorkerSettings) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=settings.dataset, format=ox.RdfFormat.N_QUADS)
    return store


def serve(conn: Connection, settings: WorkerSettings) -> None:
    """Process entry point: announce readiness, then answer requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us by pid
    try:
        store = _load(settings)
        from ..knowledge import knowledge
        from ..reasoning import get_reasoner

        knowledge().treatment_classes  # noqa: B018 - warm the cache before the first request
        reasoner = get_reasoner(settings.reasoner)
    except Exception as exc:  # report any start-up failure to the parent instead of dying silently
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        payload, pending = message
        try:
            for update in pending:
                store.update(update)
        except Exception:
            return  # diverged from the other workers: exit, and the pool replaces this process
        try:
            if isinstance(payload, QueryRequest):
                reply = execute_query(store, payload, settings.max_results)
            elif isinstance(payload, UpdateRequest):
                reply = execute_update(store, payload)
            elif isinstance(payload, RecommendRequest):
                from .assess import recommend_reply

                reply = recommend_reply(payload.body, payload.media_type, payload.accept, reasoner, payload.explain)
            else:
                reply = Reply.text(500, f"unknown request {type(payload).__name__}")
        except Exception as exc:  # one bad request must not take the worker down
            reply = Reply.text(500, f"internal error: {type(exc).__name__}: {exc}")
        conn.send(reply)
