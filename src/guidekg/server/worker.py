"""The worker process: one request at a time, in one of three roles.

A worker is the unit the time limit acts on. pyoxigraph cannot cancel a running query and a
Python thread cannot be stopped, so a request that runs past its limit is ended by killing
the whole worker process (:mod:`.pool` then starts a fresh one). Keeping each worker
single-threaded is what makes that safe: nothing else is lost with it.

Roles: ``query`` workers answer SPARQL queries from a read-only snapshot of the store and
move to a newer snapshot when a request says one exists; the single ``writer`` applies
updates to the primary store and checkpoints each committed one as a new snapshot
(:mod:`.store`); ``assess`` workers answer ``/recommend`` and hold no store at all: they are
forked from one warm process that holds the compiled knowledge (:mod:`.forkserver`), the
others are spawned. Every worker first gives up its network access where the OS allows
(:mod:`.sandbox`).
"""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from .sandbox import isolate_network
from .sparql import QueryRequest, Reply, UpdateRequest, deepen_stack, execute_query, execute_update


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to build its state (picklable: it is sent to a spawned worker or fork server)."""

    folder: str
    """The server's data folder: ``primary/`` (the writable store) and ``snapshots/v<N>/``."""
    role: str = "query"
    reasoner: str = "fast"
    max_results: int = 100_000
    max_bytes: int | None = 16 * 1024 * 1024
    isolate: bool = True
    """Move the worker into its own network namespace (no network at all) where the OS allows."""
    max_memory: int | None = 2 * 1024**3
    """Data segment limit of query and writer workers (RLIMIT_DATA): a query that builds huge
    strings (nested CONCAT doubles them) aborts its own worker instead of exhausting the machine."""


@dataclass(frozen=True)
class RecommendRequest:
    body: bytes
    media_type: str
    accept: str | None = None
    explain: bool = False


def _open(settings: WorkerSettings, version: int):
    from .store import open_primary, open_snapshot

    if settings.role == "writer":
        return open_primary(settings.folder)
    if settings.role == "query":
        return open_snapshot(settings.folder, version)
    from ..knowledge import knowledge
    from ..reasoning import get_reasoner

    kb = knowledge()
    kb.treatment_classes  # noqa: B018 - warm the compiled tables before the first request
    # and the ontology graph behind them: a lookup the compiled tables miss (e.g. the evidence
    # of an alert rule) parses it on first use, ~0.6 s inside some patient's request, in every
    # worker; loaded here it is parsed once, before the fork, and shared (:mod:`.forkserver`).
    kb.graph  # noqa: B018
    return get_reasoner(settings.reasoner)


def _answer(settings: WorkerSettings, state, payload: object, version: int, scratch: Path | None = None) -> Reply:
    if isinstance(payload, QueryRequest) and settings.role == "query":
        return execute_query(state, payload, settings.max_results, settings.max_bytes)
    if isinstance(payload, UpdateRequest) and settings.role == "writer":
        from .store import checkpoint

        reply = execute_update(state, payload)
        if reply.status < 300:
            checkpoint(state, settings.folder, version)
        return reply
    if isinstance(payload, RecommendRequest) and settings.role == "assess":
        from .assess import recommend_reply

        return recommend_reply(payload.body, payload.media_type, payload.accept, state, payload.explain, scratch)
    return Reply.text(500, f"a {settings.role} worker cannot answer {type(payload).__name__}")


def prepare(settings: WorkerSettings) -> bool:
    """What every worker does before it opens anything: ignore Ctrl-C, leave the network, set
    its limits. Returns whether the network is gone. (The fork server does this once, before
    it warms up; its children inherit the namespace.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us by pid
    isolated = isolate_network() if settings.isolate else False
    if settings.role != "assess":  # the JSON decoder recurses in C: assess workers keep the default limit
        deepen_stack()
        if settings.max_memory:  # not for assess workers: a reasoner may start a JVM, which would inherit it
            resource.setrlimit(resource.RLIMIT_DATA, (settings.max_memory, settings.max_memory))
    return isolated


def serve(conn: Connection, settings: WorkerSettings, version: int = 0) -> None:
    """Process entry point (spawned workers): prepare, open the state, then answer requests."""
    isolated = prepare(settings)
    try:
        state = _open(settings, version)
    except Exception as exc:  # report any start-up failure to the parent instead of dying silently
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    answer_loop(conn, settings, state, version, isolated)


def _scratch(settings: WorkerSettings) -> Path | None:
    """An assess worker's private folder for request files, inside the server's data folder
    (removed with it when the server stops, even if this worker is killed)."""
    if settings.role != "assess":
        return None
    folder = Path(settings.folder) / f"assess-{os.getpid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def answer_loop(conn: Connection, settings: WorkerSettings, state, version: int, isolated: bool) -> None:
    """Announce readiness, then answer requests one at a time until the pipe closes."""
    scratch = _scratch(settings)
    conn.send(("ready", os.getpid(), isolated))
    current = version
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        payload, version = message
        if settings.role == "query" and version != current:
            state = None  # release the old snapshot before opening the new one
            try:
                state = _open(settings, version)
            except Exception as exc:  # cannot follow the store: exit, the pool starts a fresh worker
                conn.send(Reply.text(503, f"the worker could not open the current store: {exc}"))
                return
            current = version
        try:
            reply = _answer(settings, state, payload, version, scratch)
        except Exception as exc:  # one bad request must not take the worker down
            reply = Reply.text(500, f"internal error: {type(exc).__name__}: {str(exc)[:500]}")
        conn.send(reply)
