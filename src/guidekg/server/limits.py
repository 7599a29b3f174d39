"""The server's limits and access rules, in one place so the CLI, the app and the docs agree.

Defaults are chosen for a single-user clinical tool on loopback: a query answers in well
under a second on this dataset, so 10 s means "runaway"; 100,000 rows is more than the
whole served dataset; 5 MiB holds a CSV of thousands of patients.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.requests import Request

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_assess_workers() -> int:
    """One assess worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class ServerConfig:
    data: list[str] = field(default_factory=list)
    """Patient inputs assessed at start-up and served, one named graph each."""
    reasoner: str = "fast"
    allow_update: bool = False
    api_key: str | None = None
    query_timeout: float = 10.0
    recommend_timeout: float = 60.0
    max_results: int = 100_000
    max_body: int = 5 * 1024 * 1024
    workers: int = 2
    """Processes answering SPARQL requests."""
    assess_workers: int = field(default_factory=default_assess_workers)
    """Processes answering /recommend: a separate pool, so slow assessments never queue queries.
    One per CPU by default (an assessment is CPU-bound: more would only take turns on the cores);
    forked from one warm process, so each extra worker costs little memory (:mod:`.forkserver`)."""
    max_response_bytes: int = 16 * 1024 * 1024
    """Largest answer body; a query whose result grows past it is stopped while it is read (422)."""
    per_client: int | None = None
    """Requests one client (address) may have running at once; None = half the query workers, at least 1."""
    client_queue_timeout: float = 30.0
    """How long a client's extra requests wait for one of its own slots before a 503."""
    allowed_hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_HOSTS))
    """Host header values accepted (no port); ``*`` accepts any. Loopback names only by default."""
    cors_origins: list[str] = field(default_factory=list)
    """Origins browsers may call from (CORS); none by default."""
    isolate_network: bool = True
    cds_fhir_servers: list[str] = field(default_factory=list)
    """FHIR server base URLs the CDS Hooks service may GET missing prefetch data from (``*`` any); none by default."""
    worker_memory: int = 2 * 1024**3
    """Memory (data segment) one SPARQL worker may use; past it the worker ends and is replaced (503)."""
    """Run workers in a network namespace of their own where the OS allows (:mod:`.sandbox`)."""

    @property
    def client_limit(self) -> int:
        return self.per_client or max(1, self.workers // 2)

    def check(self) -> None:
        """Refuse settings that would open the store to anyone (updates with no key) or make no sense."""
        if self.allow_update and not self.api_key:
            raise ValueError("--allow-update needs --api-key KEY: updates are only accepted from clients that send the key")
        if self.query_timeout <= 0 or self.recommend_timeout <= 0:
            raise ValueError("time limits must be positive")
        if min(self.max_results, self.max_body, self.workers, self.assess_workers, self.max_response_bytes) < 1:
            raise ValueError("--max-results, --max-body, --max-response-bytes, --workers and --assess-workers must be at least 1")
        if self.per_client is not None and self.per_client < 1:
            raise ValueError("--per-client must be at least 1")


class BodyTooLarge(Exception):
    """The request body is over ``max_body`` (HTTP 413)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` (a declared length is checked first)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the request body of {declared} bytes is over the server's limit of {limit} bytes (--max-body)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the request body is over the server's limit of {limit} bytes (--max-body)")
        chunks.append(chunk)
    return b"".join(chunks)


def presented_key(request: Request) -> str | None:
    """The API key from ``X-API-Key`` or ``Authorization: Bearer KEY``."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def update_refusal(config: ServerConfig, request: Request) -> str | None:
    """Why an update is refused (HTTP 403), or None when it may run."""
    if not config.allow_update:
        return "SPARQL Update is disabled: this endpoint is read-only (start the server with --allow-update --api-key KEY)"
    key = presented_key(request)
    if key is None or not hmac.compare_digest(key.encode("utf-8"), (config.api_key or "").encode("utf-8")):
        return "SPARQL Update needs the server's API key in an X-API-Key or 'Authorization: Bearer' header"
    return None


def host_allowed(host_header: str | None, allowed: list[str]) -> bool:
    """Whether the Host header names this server (DNS rebinding defence: a foreign name is refused)."""
    if "*" in allowed:
        return True
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host in {h.lower().strip("[]") for h in allowed}


class ClientGate:
    """At most ``limit`` requests running per client; the others wait in line, up to ``timeout``.

    Why: the workers are shared, so without a per-client share one client sending slow
    queries (or many at once) occupies every worker and everyone else queues behind it.
    With the share below the pool size a worker is always left for the other clients.
    """

    def __init__(self, limit: int, timeout: float) -> None:
        self.limit, self.timeout = limit, timeout
        self._gates: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def slot(self, client: str):
        """Hold one of ``client``'s slots; raises :class:`TimeoutError` when none frees up in time."""
        gate, users = self._gates.setdefault(client, (asyncio.Semaphore(self.limit), [0]))
        users[0] += 1
        try:
            await asyncio.wait_for(gate.acquire(), self.timeout)
            try:
                yield
            finally:
                gate.release()
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._gates.pop(client, None)
