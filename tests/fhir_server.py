"""A minimal FHIR R4 server for tests, on 127.0.0.1: read (``Type/id``) and type-level search by ``patient``.

It serves the resources it is given (the project's examples, the public mCODE fixtures) through
exactly the interactions CDS Hooks prefetch templates use (``Patient/{id}``,
``Condition?patient={id}``, ...), answers searches with ``searchset`` Bundles, requires a bearer
token, and records every request so tests can check what the CDS service asked for.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class FhirServer:
    base: str
    token: str
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path?query, Authorization)


def _patient_of(resource: dict) -> str | None:
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for name in ("subject", "patient"):
        ref = resource.get(name)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            return ref["reference"].split("/", 1)[1]
    return None


@contextmanager
def fhir_server(resources: list[dict], token: str = "test-token") -> Iterator[FhirServer]:
    state: FhirServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _other(self) -> None:
            state.requests.append((self.command, self.path, self.headers.get("Authorization")))
            self._send(405, {"resourceType": "OperationOutcome"})

        do_POST = do_PUT = do_DELETE = _other  # noqa: N815

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append(("GET", self.path, self.headers.get("Authorization")))
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                return self._send(401, {"resourceType": "OperationOutcome"})
            parts = urlsplit(self.path)
            segments = [s for s in parts.path.split("/") if s][1:]  # drop the 'fhir' base segment
            if len(segments) == 2:
                found = [r for r in resources if r["resourceType"] == segments[0] and r.get("id") == segments[1]]
                return self._send(200, found[0]) if found else self._send(404, {"resourceType": "OperationOutcome"})
            if len(segments) == 1:
                patient = (parse_qs(parts.query).get("patient") or [None])[0]
                hits = [r for r in resources if r["resourceType"] == segments[0] and _patient_of(r) == patient]
                return self._send(200, {"resourceType": "Bundle", "type": "searchset", "total": len(hits),
                                        "entry": [{"resource": r} for r in hits]})
            return self._send(400, {"resourceType": "OperationOutcome"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = FhirServer(f"http://127.0.0.1:{server.server_address[1]}/fhir", token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
