"""``POST /recommend`` inside a worker: one request body in, the §5.1 JSON (or FHIR) out.

The body goes through exactly the readers the CLI uses (chosen by suffix), so a patient
posted to the server and the same file given to ``guidekg recommend`` get the same answer.
It is written to a private temporary file named ``request.<suffix>``; the temporary folder
is removed from every message before it is returned, so clients see ``request.csv:3``
rather than a server path.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from ..ingest import InputError, read_patients
from ..reasoning import Reasoner
from ..recommend import assess
from .results import NotAcceptable, negotiate
from .sparql import Reply

INPUT_TYPES: dict[str, str] = {
    "text/turtle": ".ttl",
    "application/x-turtle": ".ttl",
    "application/n-triples": ".nt",
    "application/ld+json": ".jsonld",
    "text/csv": ".csv",
    "application/fhir+json": ".json",
    "application/json": ".json",
    "application/fhir+ndjson": ".ndjson",
    "application/x-ndjson": ".ndjson",
}
"""Request media types and the reader (by file suffix) each one goes to."""

OUTPUT_TYPES = ("application/json", "application/fhir+json")


def _scrub(value: Any, folder: str) -> Any:
    if isinstance(value, str):
        return value.replace(folder + "/", "").replace(folder, "request")
    if isinstance(value, list):
        return [_scrub(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, folder) for k, v in value.items()}
    return value


def _json(status: int, payload: Any) -> Reply:
    return Reply(status, "application/json", json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8"))


def recommend_reply(body: bytes, media_type: str, accept: str | None, reasoner: Reasoner | str,
                    explain: bool = False) -> Reply:
    """Assess the patients in ``body``; 422 when nothing in it could be assessed."""
    suffix = INPUT_TYPES.get(media_type)
    if suffix is None:
        return _json(415, {"error": f"unsupported Content-Type '{media_type}'",
                           "supported": sorted(INPUT_TYPES)})
    try:
        output = negotiate(accept, OUTPUT_TYPES)
    except NotAcceptable as exc:
        return _json(406, {"error": str(exc)})
    with tempfile.TemporaryDirectory(prefix="guidekg-request-") as folder:
        path = Path(folder) / f"request{suffix}"
        path.write_bytes(body)
        try:
            results = assess(list(read_patients([path])), reasoner=reasoner, explain=explain)
        except InputError as exc:
            finding = {"file": "request" + suffix, "line": exc.line, "problem": _scrub(exc.problem, folder)}
            return _json(422, {"error": "the request body cannot be read", "findings": [finding]})
        assessed = [_scrub(r.as_json(explain), folder) for r in results]
        if output == "application/fhir+json":
            try:
                from ..export.fhir import render_fhir
            except ImportError:
                return _json(406, {"error": "FHIR output is not available in this build"})
            reply = Reply(200, "application/fhir+json", _scrub(render_fhir(results), folder).encode("utf-8"))
        else:
            reply = _json(200, assessed)
    if all(r["status"] == "invalid" for r in assessed):
        return _json(422, {"error": "no patient in the request could be assessed", "results": assessed})
    return reply
