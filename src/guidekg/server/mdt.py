"""The MDT web page at ``/``: enter or upload a patient, read the guideline's answer, print or save it.

Server-rendered with Jinja2 (autoescaped) and no script at all: a form with the case-sheet
fields (their vocabularies read from ``ontology/mappings/casesheet.csv`` through
:func:`guidekg.vocabulary.vocabulary`), or an upload of a case sheet, Turtle or a FHIR Bundle.
Either way the input goes through the same worker pool and readers as ``POST /recommend``;
the §5.1 JSON is kept under a random key (:class:`.cds.Cases`) and the browser is sent to
``/mdt/cases/{key}`` (post/redirect/get), which the CDS cards link to as well.

The page is self-contained: inline CSS, the pathway as inline SVG (:mod:`.mdt_svg`), and a
strict Content-Security-Policy (``default-src 'self'``, inline styles only, no scripts), so it
makes no request to anything but this server and can be printed or saved as one file
(``?download=1`` returns the same HTML as an attachment).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from ..namespaces import expand
from ..vocabulary import vocabulary
from .cds import Cases
from .cds_cards import evidence_links
from .limits import BodyTooLarge, ServerConfig, read_body
from .mdt_svg import pathway_svg
from .sparql import Reply

Assess = Callable[[Request, bytes, str], Awaitable[Reply]]
CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'none'; "
       "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
UPLOAD_TYPES = {".csv": "text/csv", ".ttl": "text/turtle", ".nt": "application/n-triples", ".jsonld": "application/ld+json",
                ".json": "application/fhir+json", ".ndjson": "application/fhir+ndjson"}
LIST_KINDS = ("enum-list", "action-list")
_ENV = Environment(loader=PackageLoader("guidekg.server", "templates"), autoescape=select_autoescape(["html"]))


@dataclass
class Field:
    """One case-sheet column as a form control."""

    name: str
    kind: str
    label: str
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value sent, text shown)


def form_fields() -> list[Field]:
    """The case-sheet columns in sheet order, each with its vocabulary (one choice per ontology individual)."""
    vocab = vocabulary()
    actions: dict[str, str] = {}
    for written, iri in vocab.actions.items():
        actions.setdefault(iri, written)
    out = []
    for column in vocab.columns.values():
        choices: list[tuple[str, str]] = []
        if column.kind in ("enum", "enum-list"):
            seen: dict[str, str] = {}
            for written, iri in column.values.items():
                seen.setdefault(iri, written)
            choices = [(written, written) for iri, written in seen.items()]
        elif column.kind == "action-list":
            choices = sorted(((written, vocab.labels.get(iri) or written) for iri, written in actions.items()), key=lambda c: c[1].lower())
        elif column.kind == "boolean":
            choices = [("yes", "yes"), ("no", "no")]
        out.append(Field(column.name, column.kind, column.name.replace("_", " "), choices))
    return out


def case_sheet(form: dict[str, list[str]], fields: list[Field]) -> bytes:
    """One CSV row from the submitted form (lists joined with ';', empty = unknown)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f.name for f in fields])
    writer.writerow([";".join(v for v in form.get(f.name, []) if v) if f.kind in LIST_KINDS
                     else (form.get(f.name) or [""])[0].strip() for f in fields])
    return buffer.getvalue().encode("utf-8")


def _general(tables, rec: dict[str, Any]) -> bool:
    classes = [expand(c) for c in rec.get("classes", [])]
    return bool(classes) and all(c in tables.general_classes for c in classes)


def patient_view(tables, result: dict[str, Any], index: int) -> dict[str, Any]:
    """What the template shows for one patient (§5.1 JSON plus links, the pathway picture and general/specific split)."""
    recs = [dict(r, links=evidence_links(r.get("evidence", []))) for r in result.get("recommendations", [])]
    classes = list(result.get("treatment_classes", [])) + [a["raised_by"] for a in result.get("alerts", [])
                                                           if str(a.get("raised_by", "")).startswith("gk:")]
    svg, current, upcoming = pathway_svg(classes, f"p{index}") if result["status"] == "ok" else ("", [], [])
    return {**result, "index": index, "svg": svg, "current_steps": current, "upcoming_steps": upcoming,
            "specific": [r for r in recs if not _general(tables, r)], "general": [r for r in recs if _general(tables, r)],
            "alerts": [dict(a, links=evidence_links(a.get("evidence", []))) for a in result.get("alerts", [])],
            "plan": [dict(p, links=evidence_links(p.get("evidence", []))) for p in result.get("plan", [])]}


def mount_mdt(app: FastAPI, config: ServerConfig, assess: Assess, cases: Cases) -> None:
    """Add ``GET /``, ``POST /`` (form), ``POST /upload`` and ``GET /mdt/cases/{key}``."""
    template = _ENV.get_template("mdt.html")
    fields = form_fields()

    def page(status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("fields", fields)
        values.setdefault("entered", {})
        values.setdefault("today", date.today().isoformat())
        return HTMLResponse(template.render(**values), status_code=status, headers={"Content-Security-Policy": CSP,
                                                                                    "X-Content-Type-Options": "nosniff",
                                                                                    "Referrer-Policy": "no-referrer"})

    async def assessed(request: Request, body: bytes, media: str, entered: dict[str, list[str]]) -> Response:
        reply = await assess(request, body, media)
        try:
            document = json.loads(reply.body)
        except ValueError:
            document = None
        if reply.status == 200 and isinstance(document, list):
            return RedirectResponse(f"/mdt/cases/{cases.put(document)}", status_code=303)
        findings = document.get("findings", []) if isinstance(document, dict) else []
        results = document.get("results", []) if isinstance(document, dict) else []
        problems = [f"{f.get('file')}" + (f":{f['line']}" if f.get("line") else "") + f": {f.get('problem')}" for f in findings]
        problems += [f"{r['patient']}: {v['message']}" for r in results for v in r.get("validation", [])]
        if not problems:
            problems = [(document or {}).get("error") if isinstance(document, dict) else reply.body[:300].decode("utf-8", "replace")]
        status = reply.status if reply.status >= 400 else 502
        return page(status, errors=problems, entered=entered, show_form=True)

    @app.get("/", response_class=HTMLResponse, summary="The MDT page: enter or upload a patient")
    async def home() -> HTMLResponse:
        return page(show_form=True)

    @app.post("/", response_class=HTMLResponse, summary="Assess the patient entered in the MDT form")
    async def submit(request: Request) -> Response:
        from urllib.parse import parse_qs

        try:
            raw = await read_body(request, config.max_body)
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except BodyTooLarge as exc:
            return page(413, errors=[str(exc)], show_form=True)
        except UnicodeDecodeError:
            return page(400, errors=["the form was not sent as UTF-8"], show_form=True)
        if not (form.get("patient_id") or [""])[0].strip():
            return page(400, errors=["patient id: give the patient an identifier"], entered=form, show_form=True)
        return await assessed(request, case_sheet(form, fields), "text/csv", form)

    @app.post("/upload", response_class=HTMLResponse, summary="Assess an uploaded case sheet, Turtle file or FHIR Bundle")
    async def upload(request: Request) -> Response:
        try:
            request._body = await read_body(request, config.max_body)  # bounded read; form() then parses these bytes
            form = await request.form(max_files=1, max_fields=10)
        except BodyTooLarge as exc:
            return page(413, errors=[str(exc)], show_form=True)
        except Exception as exc:  # noqa: BLE001 - any multipart parse failure is the client's (400)
            return page(400, errors=[f"the upload could not be read: {str(exc)[:200]}"], show_form=True)
        item = form.get("file")
        if item is None or isinstance(item, str) or not item.filename:
            return page(400, errors=["choose a file to upload"], show_form=True)
        suffix = PurePosixPath(item.filename).suffix.lower()
        media = UPLOAD_TYPES.get(suffix)
        if media is None:
            return page(415, errors=[f"{item.filename}: the file name must end in one of {', '.join(UPLOAD_TYPES)}"], show_form=True)
        return await assessed(request, await item.read(), media, {})

    @app.get("/mdt/cases/{key}", response_class=HTMLResponse, summary="The MDT page of an assessment (download=1: as a file)")
    async def case(key: str, download: bool = False) -> HTMLResponse:
        results = cases.get(key)
        if results is None:
            return page(404, errors=["this assessment is no longer held by the server (kept for one hour); assess the patient again"],
                        show_form=True)
        from ..knowledge import knowledge

        tables = await asyncio.to_thread(lambda: knowledge().plan_tables)
        views = [patient_view(tables, r, i) for i, r in enumerate(results)]
        response = page(patients=views, key=key, show_form=False)
        if download:
            response.headers["Content-Disposition"] = f'attachment; filename="guidekg-mdt-{date.today().isoformat()}.html"'
        return response
