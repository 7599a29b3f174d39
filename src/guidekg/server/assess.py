"""``POST /recommend`` inside a worker: one request body in, the §5.1 JSON (or FHIR) out.

The body goes through exactly the readers the CLI uses (chosen by suffix), so a patient
posted to the server and the same file given to ``guidekg recommend`` get the same answer.
It is written to a private temporary file named ``request.<suffix>``; the temporary folder
is removed from every message before it is returned, so clients see ``request.csv:3``
rather than a server path.

Before the readers see a body it is screened here, because the readers are also used on
trusted local files and are free to follow references there: a JSON-LD ``@context`` given
as a URL or path (rdflib would fetch it over HTTP or read it from the server's disk) or an
``@import`` is refused, with the same message whatever the target, so the answer reveals
nothing about the server's files or network. JSON is decoded once up front so a body
nested thousands deep or holding a 5,000-digit number is a 422, not an internal error.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyoxigraph as ox

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
JSON_SUFFIXES = (".json", ".jsonld", ".ndjson")
RDF_FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES}
REMOTE_CONTEXT = ("a JSON-LD @context or @import that refers to another document is not accepted by the server "
                  "(it would be fetched); put the context inline as a JSON object")


class Refused(ValueError):
    """The body is refused before any reader sees it (HTTP 422)."""


def _refs_elsewhere(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(v is not None and not isinstance(v, dict) for v in values)


def _screen_json(document: Any) -> None:
    """Refuse a remote or local ``@context`` reference or ``@import`` anywhere in the document."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "@import" in item or ("@context" in item and _refs_elsewhere(item["@context"])):
                raise Refused(REMOTE_CONTEXT)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def screen_body(body: bytes, suffix: str) -> None:
    """Decode JSON bodies once and screen them (see the module docstring); :class:`Refused` if unacceptable."""
    if suffix not in JSON_SUFFIXES:
        return
    try:
        text = body.decode("utf-8")
        documents = [json.loads(line) for line in text.splitlines() if line.strip()] if suffix == ".ndjson" \
            else [json.loads(text)]
    except UnicodeDecodeError as exc:
        raise Refused(f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError:
        return  # malformed JSON: the reader reports it with its line and column
    except RecursionError as exc:
        raise Refused("the JSON is nested too deeply to read") from exc
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise Refused(f"the JSON cannot be read: {str(exc)[:200]}") from exc
    if suffix == ".jsonld":
        for document in documents:
            _screen_json(document)


def _located_rdf_error(body: bytes, suffix: str) -> str | None:
    """pyoxigraph's message (with line and column) for an RDF body rdflib could not parse, if it finds one."""
    fmt = RDF_FORMATS.get(suffix)
    if fmt is None:
        return None
    try:
        for _ in ox.parse(body, format=fmt, base_iri="https://w3id.org/guidekg/request"):
            pass
    except SyntaxError as exc:
        return f"cannot parse as {fmt.name.lower().replace('_', '-')}: {str(exc)[:500]}"
    return None


def _scrub(value: Any, folder: str) -> Any:
    if isinstance(value, str):
        return value.replace(folder + "/", "").replace(folder, "request")
    if isinstance(value, list):
        return [_scrub(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, folder) for k, v in value.items()}
    return value


def _scrub_text(text: str, folder: str) -> str:
    """:func:`_scrub` on rendered JSON: the folder as JSON writes it, replaced once over the
    whole text instead of walking every string of every result (a few ms a patient)."""
    escaped = json.dumps(folder, ensure_ascii=False)[1:-1]
    return text.replace(escaped + "/", "").replace(escaped, "request") if escaped in text else text


def _render(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, default=str)


def _json(status: int, payload: Any) -> Reply:
    return Reply(status, "application/json", _render(payload).encode("utf-8"))


@contextmanager
def _request_file(scratch: Path | None, suffix: str) -> Iterator[Path]:
    """Where the body is written for the readers: in the worker's own ``scratch`` folder when
    given (made once at start, so a request costs no mkdtemp/rmtree), else a temporary folder.
    The file is removed after the request either way: no patient data is left behind."""
    if scratch is None:
        with tempfile.TemporaryDirectory(prefix="guidekg-request-") as folder:
            yield Path(folder) / f"request{suffix}"
        return
    path = scratch / f"request{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def recommend_reply(body: bytes, media_type: str, accept: str | None, reasoner: Reasoner | str,
                    explain: bool = False, scratch: Path | None = None) -> Reply:
    """Assess the patients in ``body``; 422 when nothing in it could be assessed.

    ``scratch``: a private folder of this worker's for the request file (see :func:`_request_file`).
    """
    suffix = INPUT_TYPES.get(media_type)
    if suffix is None:
        return _json(415, {"error": f"unsupported Content-Type '{media_type}'",
                           "supported": sorted(INPUT_TYPES)})
    try:
        output = negotiate(accept, OUTPUT_TYPES)
    except NotAcceptable as exc:
        return _json(406, {"error": str(exc)})
    try:
        screen_body(body, suffix)
    except Refused as exc:
        return _json(422, {"error": "the request body cannot be read",
                           "findings": [{"file": "request" + suffix, "line": None, "problem": str(exc)}]})
    with _request_file(scratch, suffix) as path:
        folder = str(path.parent)
        path.write_bytes(body)
        try:
            results = assess(list(read_patients([path])), reasoner=reasoner, explain=explain)
        except InputError as exc:
            problem = _located_rdf_error(body, suffix) or _scrub(exc.problem, folder)
            finding = {"file": "request" + suffix, "line": exc.line, "problem": problem}
            return _json(422, {"error": "the request body cannot be read", "findings": [finding]})
        except (RecursionError, ValueError) as exc:  # input a reader did not anticipate: still the client's
            problem = "the input is nested too deeply" if isinstance(exc, RecursionError) else _scrub(str(exc)[:300], folder)
            return _json(422, {"error": "the request body cannot be read",
                               "findings": [{"file": "request" + suffix, "line": None, "problem": problem}]})
        assessed = [r.as_json(explain) for r in results]
        if all(r["status"] == "invalid" for r in assessed):
            text = _render({"error": "no patient in the request could be assessed", "results": assessed})
            return Reply(422, "application/json", _scrub_text(text, folder).encode("utf-8"))
        if output == "application/fhir+json":
            try:
                from ..export.fhir import render_fhir
            except ImportError:
                return _json(406, {"error": "FHIR output is not available in this build"})
            return Reply(200, "application/fhir+json", _scrub(render_fhir(results), folder).encode("utf-8"))
        return Reply(200, "application/json", _scrub_text(_render(assessed), folder).encode("utf-8"))
