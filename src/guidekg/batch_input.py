"""Reading for the streaming population path (:mod:`guidekg.batch`): every input patient, in
order, as chunks of work, and a chunk back into patient records in a worker.

A CSV case sheet is streamed from disk and parsed in the workers (rows travel as strings, so
the parent only splits lines and checks patient ids for duplicates). Other inputs (RDF, FHIR)
are read by their readers in the parent and travel as records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .batch_ids import _Duplicates
from .ingest import input_units, read_unit
from .ingest.casesheet import _parse_cell, check_header, iter_rows, read_header
from .ingest.casesheet import _row as casesheet_row
from .ingest.errors import InputError
from .model import Finding, PatientRecord, SourceRef
from .namespaces import patient_iri
from .vocabulary import vocabulary

CHUNK_SIZE = 2000

_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes the reader could not decode (surrogateescape)

# A chunk of work: ("csv", path, header, rows[(line, cells, duplicate_of)]), the same with "parquet"
# (rows numbered from 1, see guidekg.ingest.parquet) or ("records", records).
Chunk = tuple


# ------------------------------------------------------------------------------ reading

def _csv_chunks(path: Path, duplicates: _Duplicates, chunk_size: int) -> Iterator[Chunk]:
    """Stream a case sheet: the header is checked here exactly as the whole-file reader does."""
    vocab = vocabulary()
    handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    with handle:
        lines = iter(handle)
        header = read_header(path, lines)
        check_header(path, header, vocab)
        id_column = header.index("patient_id")
        rows: list[tuple[int, list[str] | str, str | None]] = []
        count = 0
        for line, cells, error in iter_rows(lines):
            if error is not None:
                rows.append((line, error, None))
            else:
                patient_id = cells[id_column].strip() if id_column < len(cells) else ""
                iri = patient_iri(patient_id or f"{path.name}#line-{line}")
                rows.append((line, cells, duplicates.check(iri, SourceRef(str(path), line))))
            count += 1
            if len(rows) >= chunk_size:
                yield ("csv", str(path), header, rows)
                rows = []
        if rows:
            yield ("csv", str(path), header, rows)
        if count == 0:
            raise InputError(str(path), None, "the file has a header but no patient rows")


def _record_chunks(unit: Path | list[Path], duplicates: _Duplicates, chunk_size: int) -> Iterator[Chunk]:
    records: list[PatientRecord] = []
    for record in read_unit(unit):
        first = duplicates.check(record.iri, record.source)
        if first is not None:
            record.findings.append(Finding(f"duplicate patient id '{record.patient_id}' (first seen at {first})",
                                           path="patient_id", source=str(record.source)))
        records.append(record)
        if len(records) >= chunk_size:
            yield ("records", records)
            records = []
    if records:
        yield ("records", records)


def chunks(inputs: Iterable[str | Path], chunk_size: int = CHUNK_SIZE) -> Iterator[Chunk]:
    """Every input patient, in order, as chunks of work (file-level problems raise InputError)."""
    duplicates = _Duplicates()
    paths = [Path(raw) for raw in inputs]
    for path in paths:
        if not path.exists():
            raise InputError(str(path), None, "file not found")
    for unit in input_units(paths):  # FHIR inputs joined into one dataset, as read_patients does
        if isinstance(unit, Path) and unit.suffix.lower() == ".csv" and unit.is_file():
            yield from _csv_chunks(unit, duplicates, chunk_size)
        elif isinstance(unit, Path) and unit.suffix.lower() == ".parquet" and unit.is_file():
            from .ingest.parquet import parquet_chunks  # text cells, parsed in the workers as CSV rows are

            yield from parquet_chunks(unit, duplicates, chunk_size)
        else:
            yield from _record_chunks(unit, duplicates, chunk_size)


def _records(chunk: Chunk) -> list[PatientRecord]:
    if chunk[0] == "records":
        return chunk[1]
    if chunk[0] == "parquet":
        from .ingest.parquet import chunk_records

        return chunk_records(chunk, parse=_cached_cell)
    _, name, header, rows = chunk
    path, vocab = Path(name), vocabulary()
    out = []
    for line, cells, duplicate_of in rows:
        if isinstance(cells, str):  # a row the CSV reader could not split
            record = PatientRecord(f"line-{line}", patient_iri(f"{path.name}#line-{line}"), SourceRef(name, line))
            record.findings.append(Finding(cells, source=str(record.source)))
        elif _NOT_UTF8.search("".join(cells)):
            record = PatientRecord(f"line-{line}", patient_iri(f"{path.name}#line-{line}"), SourceRef(name, line))
            record.findings.append(Finding("the row is not UTF-8 text", source=str(record.source)))
        else:
            record = _row(path, line, header, cells, vocab)
            if duplicate_of is not None:
                record.findings.append(Finding(f"duplicate patient id '{record.patient_id}' (first seen at {duplicate_of})",
                                               path="patient_id", source=str(record.source)))
        out.append(record)
    return out


_CELLS: dict[tuple[str, str], tuple[list[Any], str | None]] = {}


def _cached_cell(column: Any, raw: str, actions: dict[str, str]) -> tuple[list[Any], str | None]:
    """:func:`guidekg.ingest.casesheet._parse_cell`, each distinct cell parsed once per process.

    A population repeats the same few thousand cell values (dates too: a cohort spans a few
    thousand days), and building rdflib terms is most of the parsing cost; ids are unique, so
    they are not cached.
    tests/test_batch.py checks the records equal the case-sheet reader's.
    """
    if column.kind == "id":
        return _parse_cell(column, raw, actions)
    key = (column.name, raw)
    cached = _CELLS.get(key)
    if cached is None:
        cached = _parse_cell(column, raw, actions)
        if len(_CELLS) > 50_000:
            _CELLS.clear()
        _CELLS[key] = cached
    return cached


def _row(path: Path, line: int, header: list[str], cells: list[str], vocab: Any) -> PatientRecord:
    return casesheet_row(path, line, header, cells, vocab, parse=_cached_cell)
