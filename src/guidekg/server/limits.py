"""The server's limits and access rules, in one place so the CLI, the app and the docs agree.

Defaults are chosen for a single-user clinical tool on loopback: a query answers in well
under a second on this dataset, so 10 s means "runaway"; 100,000 rows is more than the
whole served dataset; 5 MiB holds a CSV of thousands of patients.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from starlette.requests import Request


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
    assess_workers: int = 1
    """Processes answering /recommend: a separate pool, so slow assessments never queue queries."""

    def check(self) -> None:
        """Refuse settings that would open the store to anyone (updates with no key) or make no sense."""
        if self.allow_update and not self.api_key:
            raise ValueError("--allow-update needs --api-key KEY: updates are only accepted from clients that send the key")
        if self.query_timeout <= 0 or self.recommend_timeout <= 0:
            raise ValueError("time limits must be positive")
        if min(self.max_results, self.max_body, self.workers, self.assess_workers) < 1:
            raise ValueError("--max-results, --max-body, --workers and --assess-workers must be at least 1")


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
