"""The CSV case sheet (ARCHITECTURE §4.2): one row a patient, empty cell = unknown.

Columns and values are read from ``ontology/mappings/casesheet.csv``. An unknown column
fails the whole file (a typo would otherwise silently lose a fact for every patient); a bad
value fails only its row, which is reported 'invalid' with the line and field.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import XSD, Literal, URIRef

from ..model import Finding, PatientRecord, SourceRef
from ..namespaces import patient_iri
from ..vocabulary import Column, vocabulary
from .defaults import apply_defaults
from .errors import InputError

_BOOLEAN = {"yes": True, "no": False}


def _parse_cell(column: Column, raw: str, actions: dict[str, str]) -> tuple[list[object], str | None]:
    """Values for one cell, or an error message."""
    kind = column.kind
    if kind == "integer":
        try:
            return [Literal(int(raw), datatype=XSD.integer)], None
        except ValueError:
            return [], f"'{raw}' is not a whole number"
    if kind == "decimal":
        try:
            number = Decimal(raw)
        except InvalidOperation:
            return [], f"'{raw}' is not a number"
        if not number.is_finite():
            return [], f"'{raw}' is not a finite number"
        return [Literal(number, datatype=XSD.decimal)], None
    if kind == "date":
        try:
            if len(raw) != 10:
                raise ValueError
            return [Literal(dt.date.fromisoformat(raw).isoformat(), datatype=XSD.date)], None
        except ValueError:
            return [], f"'{raw}' is not a date (YYYY-MM-DD)"
    if kind == "boolean":
        value = _BOOLEAN.get(raw.lower())
        if value is None and column.synonyms:
            value = _BOOLEAN.get(column.synonyms.get(raw.lower(), ""))
        if value is None:
            return [], f"'{raw}' is not yes or no"
        return [Literal(value)], None
    if kind in ("enum", "enum-list", "action-list"):
        parts = [p.strip() for p in raw.split(";")] if kind != "enum" else [raw]
        if kind == "action-list" and "+" in raw:  # "FOLFOX + panitumumab": a regimen written as its parts
            parts = [q.strip() for p in parts for q in (p.split("+") if p.lower() not in actions else [p])]
        parts = [p for p in parts if p]
        table = actions if kind == "action-list" else column.values
        values, unknown = [], []
        for part in parts:
            iri = table.get(part.lower())
            if iri is None and column.synonyms:
                iri = table.get(column.synonyms.get(part.lower(), "").lower())
            (values.append(URIRef(iri)) if iri else unknown.append(part))
        if unknown:
            allowed = sorted({k for k in table}) if kind != "action-list" else None
            hint = f"; allowed: {', '.join(allowed)}" if allowed else "; see the planned-action vocabulary in the README"
            return [], f"unknown value {', '.join(repr(u) for u in unknown)}{hint}"
        return values, None
    return [Literal(raw, datatype=XSD.string)], None


_NOTES: dict[str, dict[str, str | None]] = {}  # column -> cell as written -> note (None: no synonym)
_NONE: dict[str, str | None] = {}
_UNSEEN = object()


def _synonym_note(column: Column, raw: str) -> str | None:
    """The note for a value written as a synonym, memoised: a million rows repeat a few spellings."""
    lower = raw.lower()
    canonical = column.synonyms.get(lower) if lower not in column.values else None
    note = f"field '{column.name}': '{raw}' read as '{canonical}'" if canonical else None
    seen = _NOTES.setdefault(column.name, {})
    if len(seen) < 1_000:
        seen[raw] = note
    return note


def split_line(text: str) -> list[str]:
    """The cells of one physical line; csv.Error if a quoted field is left open.

    A case sheet holds codes, numbers and dates, never a line break inside a cell, so each
    physical line is one row. Reading with ``csv.reader`` over the whole file would let one
    unterminated quote swallow every following line up to the next quote character into a
    single bad row: measured, a malformed row at line 73,453 of a 100,000-row file took 647
    patients with it. Parsed one line at a time, only the broken line is lost, as 'invalid'.
    Quoting otherwise follows the csv module's default dialect, leniently, as before.
    """
    if '"' not in text:
        return text.rstrip("\r\n").split(",") if text.strip("\r\n") else []
    try:
        return next(csv.reader([text], strict=True), [])
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise csv.Error("a quoted field is not closed on this line (unterminated '\"')") from None
    return next(csv.reader([text]), [])


def iter_rows(lines: Iterator[str], first_line: int = 2) -> Iterator[tuple[int, list[str], str | None]]:
    """(line, cells, error) for every non-blank physical line; a malformed row carries its csv error."""
    for line, text in enumerate(lines, first_line):
        try:
            cells = split_line(text)
        except csv.Error as exc:
            yield line, [], f"malformed CSV row: {exc}"
            continue
        if any(c.strip() for c in cells):
            yield line, cells, None


def read_header(path: Path, lines: Iterator[str]) -> list[str]:
    """The header row (line 1), stripped; InputError if the file is empty or the header is malformed."""
    try:
        first = next(lines)
    except StopIteration:
        raise InputError(str(path), None, "the file is empty (expected a header row and one row per patient)") from None
    try:
        return [h.strip() for h in split_line(first)]
    except csv.Error as exc:
        raise InputError(str(path), 1, f"malformed CSV header: {exc}") from exc


def check_header(path: Path, header: list[str], vocab) -> None:
    """Fail the whole file on a header problem: an unknown column would lose a fact for every row."""
    unknown = [h for h in header if h not in vocab.columns]
    if unknown:
        raise InputError(str(path), 1, f"unknown column {', '.join(repr(u) for u in unknown)}; known columns: {', '.join(vocab.columns)}")
    if "patient_id" not in header:
        raise InputError(str(path), 1, "the header has no 'patient_id' column")
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise InputError(str(path), 1, f"column {', '.join(dupes)} appears twice")


def read_csv(path: Path) -> Iterator[PatientRecord]:
    vocab = vocabulary()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not text.strip():
        raise InputError(str(path), None, "the file is empty (expected a header row and one row per patient)")
    lines = iter(io.StringIO(text, newline=""))  # the same line breaks as the streaming reader
    header = read_header(path, lines)
    check_header(path, header, vocab)
    rows = 0
    for line, cells, error in iter_rows(lines):
        rows += 1
        if error is not None:
            record = PatientRecord(f"line-{line}", patient_iri(f"{path.name}#line-{line}"), SourceRef(str(path), line))
            record.findings.append(Finding(error, source=str(record.source)))
            yield record
            continue
        yield _row(path, line, header, cells, vocab)
    if rows == 0:
        raise InputError(str(path), None, "the file has a header but no patient rows")


def _row(path: Path, line: int, header: list[str], cells: list[str], vocab, parse=None) -> PatientRecord:
    """One patient from one row. ``parse(column, raw, actions)`` defaults to :func:`_parse_cell`;
    the batch path passes a cached one (parsed terms are immutable, so records can share them).
    Header names are unique (:func:`check_header`), so cells are read in header order; a ragged
    row is reported here and read as far as both go."""
    parse = parse or _parse_cell
    source = SourceRef(str(path), line)
    stripped = [cell.strip() for cell in cells]
    try:
        patient_id = stripped[header.index("patient_id")]
    except (ValueError, IndexError):
        patient_id = ""
    record = PatientRecord(patient_id or f"line-{line}", patient_iri(patient_id or f"{path.name}#line-{line}"), source)
    findings, facts = record.findings, record.facts
    if not patient_id:
        findings.append(Finding("patient_id is empty", path="patient_id", source=str(source)))
    if len(cells) != len(header):
        findings.append(Finding(f"row has {len(cells)} fields but the header has {len(header)}", source=str(source)))
    columns, actions = vocab.columns, vocab.actions
    for name, raw in zip(header, stripped):  # noqa: B905 - a ragged row is reported above
        if not raw:
            continue
        column = columns[name]
        parsed, error = parse(column, raw, actions)
        if error:
            if column.read:
                findings.append(Finding(f"field '{name}': {error}", path=name, source=str(source)))
            else:
                findings.append(Finding(f"field '{name}': {error}; ignored (no rule reads '{name}')",
                                        severity="warning", path=name, source=str(source)))
            continue
        if column.synonyms:
            note = _NOTES.get(name, _NONE).get(raw, _UNSEEN)
            if note is _UNSEEN:
                note = _synonym_note(column, raw)
            if note:
                findings.append(Finding(note, severity="info", path=name, source=str(source)))
        if len(parsed) == 1 and column.prop not in facts:  # the common case: a new property, one value
            facts[column.prop] = [parsed[0]]
        else:
            for value in parsed:
                record.add(column.prop, value)
    apply_defaults(record)
    return record
