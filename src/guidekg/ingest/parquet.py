"""Parquet case sheets: the CSV case sheet's columns (ARCHITECTURE §4.2) as a Parquet file.

A registry extract or a data-lake table is more often Parquet than CSV, and its columns are
typed (ages as integers, dates as dates, flags as booleans, actions as lists). Each value is
turned into the cell text the case-sheet parser already reads (:func:`cell_text`) and the
row goes through the same parser and checks as a CSV row
(:func:`guidekg.ingest.casesheet._row`), so validation is identical by construction, not by
a second copy of it.

Rows are numbered from 1 (the first data row) across row groups and named
``FILE (row N)``; a row with no patient id becomes ``row-N``. The file is read one record
batch at a time (pyarrow), so memory stays flat. Column problems fail the whole file
(:class:`InputError` naming the file and the column), as an unknown CSV column does; a bad
value fails only its row, which comes out 'invalid', never dropped.

pyarrow is optional (``pip install 'guidekg[population]'``); it is imported only here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..model import Finding, PatientRecord, SourceRef
from ..namespaces import patient_iri
from ..vocabulary import vocabulary
from .casesheet import _row, check_header
from .errors import InputError

__all__ = ["BATCH_ROWS", "cell_text", "chunk_records", "column_texts", "parquet_chunks", "read_parquet"]

BATCH_ROWS = 2000
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that did not decode (surrogateescape)
_LIST_KINDS = ("enum-list", "action-list")


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
        raise ModuleNotFoundError("Parquet input needs pyarrow: pip install 'guidekg[population]'", name=exc.name) from exc
    return pa, pq


def cell_text(value: Any, kind: str) -> str:
    """The case-sheet cell text for one typed value of a column of ``kind``.

    None is an empty cell (unknown). Booleans are written yes/no; dates ISO 8601; a
    timestamp at midnight with no time zone is its date (pandas stores dates so), any
    other timestamp keeps its time and so fails a date column, as it would in a CSV. A whole
    float or decimal in an integer column is written as an integer (pandas turns an integer
    column with a gap into floats); any other float is written as the shortest text that
    reads back as the same double (``2.0``, ``0.1``), so ``2.5`` stays an error in ``ecog``. NaN is written ``nan``: not a number, reported, never read as
    unknown. A list is its items joined by ``;``, the case sheet's list separator.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and kind == "integer":
            return str(int(value))
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if value.is_finite() and kind == "integer" and value == value.to_integral_value():
            return str(int(value))
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    if isinstance(value, (list, tuple)):
        return ";".join(cell_text(item, kind) for item in value if item is not None)
    return str(value)


def column_texts(column: Any, kind: str) -> list[str]:
    """:func:`cell_text` of every value of an Arrow array, vectorised where Arrow writes the
    same text (strings, integers, booleans, dates, lists of text: most of a case sheet), else
    once per distinct value (floats, decimals, timestamps). tests/test_parquet_input.py checks
    both ways agree; the per-value way alone took 2.6 s per 100,000 rows of a typed cohort."""
    pa, _ = _pyarrow()
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    kind_of = column.type
    if pa.types.is_string(kind_of) or pa.types.is_large_string(kind_of):
        text = column
    elif pa.types.is_integer(kind_of) or pa.types.is_date(kind_of):
        text = pc.cast(column, pa.string())
    elif pa.types.is_boolean(kind_of):
        text = pc.if_else(column, "yes", "no")
    elif ((pa.types.is_list(kind_of) or pa.types.is_large_list(kind_of))
          and (pa.types.is_string(kind_of.value_type) or pa.types.is_large_string(kind_of.value_type))
          and pc.list_flatten(column).null_count == 0):
        text = pc.binary_join(column, ";")
    else:  # each distinct value once: a cohort repeats a few values (months, dates) many times
        try:
            encoded = pc.dictionary_encode(column)
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return [cell_text(value, kind) for value in column.to_pylist()]
        texts = [cell_text(value, kind) for value in encoded.dictionary.to_pylist()]
        return ["" if i is None else texts[i] for i in encoded.indices.to_pylist()]
    return pc.fill_null(text, "").to_pylist()


def _check_schema(path: Path, schema: Any) -> list[str]:
    """The column names, checked as a CSV header is; a column of a type no cell can hold
    (a struct, a map, a nested list) fails the file, naming the column and its type."""
    pa, _ = _pyarrow()
    header = list(schema.names)
    try:
        check_header(path, header, vocabulary())
    except InputError as exc:  # a Parquet file has no header line: name the file only
        raise InputError(str(path), None, exc.problem.replace("the header has", "the file has")) from None
    for field in schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            kind = kind.value_type
            if pa.types.is_dictionary(kind):
                kind = kind.value_type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
                or pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind)
                or pa.types.is_date(kind) or pa.types.is_timestamp(kind) or pa.types.is_null(kind)
                or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
            raise InputError(str(path), None, f"column '{field.name}' has type {field.type}, which a case-sheet cell "
                                              "cannot hold (use text, numbers, dates, booleans or a list of text)")
    return header


def _open(path: Path) -> Any:
    try:
        _, pq = _pyarrow()
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
        raise InputError(str(path), None, str(exc)) from None
    try:
        return pq.ParquetFile(str(path))
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise InputError(str(path), None, f"not a readable Parquet file ({exc})") from None


def read_rows(path: Path, batch_rows: int = BATCH_ROWS) -> tuple[list[str], Iterator[list[tuple[int, list[str]]]]]:
    """The checked header, and the rows as (row number, cell texts) one record batch at a time."""
    handle = _open(path)
    header = _check_schema(path, handle.schema_arrow)
    kinds = [vocabulary().columns[name].kind for name in header]
    if handle.metadata.num_rows == 0:
        raise InputError(str(path), None, "the file has columns but no patient rows")

    def batches() -> Iterator[list[tuple[int, list[str]]]]:
        number = 1
        try:
            for batch in handle.iter_batches(batch_size=batch_rows, columns=header):
                columns = [column_texts(batch.column(i), kind) for i, kind in enumerate(kinds)]
                rows = [(number + i, list(cells)) for i, cells in enumerate(zip(*columns, strict=True))]
                number += len(rows)
                yield rows
        except (OSError, ValueError) as exc:
            raise InputError(str(path), None, f"Parquet data unreadable after row {number - 1} ({exc})") from None
        finally:
            handle.close()

    return header, batches()


def where(path: str, row: int) -> SourceRef:
    """How a Parquet row is named in findings: ``FILE (row N)``."""
    return SourceRef(path, resource=f"row {row}")


def first_seen(place: str) -> str:
    """A place from the population run's duplicate table, which stores (file, number) packed
    as ``FILE:N``: a Parquet row is shown as its findings name it, ``FILE (row N)``."""
    file, _, number = place.rpartition(":")
    if number.isdigit() and file.lower().endswith(".parquet"):
        return str(where(file, int(number)))
    return place


def record(path: Path, row: int, header: list[str], cells: list[str], duplicate_of: str | None = None,
           parse: Callable[..., Any] | None = None) -> PatientRecord:
    """One patient from one row: the CSV row parser, then named as a Parquet row."""
    source = where(str(path), row)
    if _NOT_UTF8.search("".join(cells)):
        made = PatientRecord(f"row-{row}", patient_iri(f"{path.name}#row-{row}"), source)
        made.findings.append(Finding("the row has a value that is not UTF-8 text", source=str(source)))
        return made
    made = _row(path, row, header, cells, vocabulary(), parse=parse)
    old = str(made.source)
    made.source = source
    made.findings = [dataclasses.replace(f, source=str(source)) if f.source == old else f for f in made.findings]
    if not cells[header.index("patient_id")].strip():  # no id: named by its row, as a CSV row is by its line
        made.patient_id, made.iri = f"row-{row}", patient_iri(f"{path.name}#row-{row}")
    if duplicate_of is not None:
        made.findings.append(Finding(f"duplicate patient id '{made.patient_id}' (first seen at {first_seen(duplicate_of)})",
                                     path="patient_id", source=str(source)))
    return made


def read_parquet(path: Path) -> Iterator[PatientRecord]:
    """Patients of one Parquet case sheet, in row order (the whole-file readers' entry)."""
    header, batches = read_rows(path)
    for rows in batches:
        for row, cells in rows:
            yield record(path, row, header, cells)


# ------------------------------------------------------------------ the population path

def parquet_chunks(path: Path, duplicates: Any, chunk_size: int) -> Iterator[tuple]:
    """Chunks of work ``("parquet", file, header, rows[(row, cells, duplicate_of)])`` for
    :func:`guidekg.batch.chunks`: cells travel as text and are parsed in the workers (or
    Spark executors), as CSV rows are; duplicate ids are checked here, in input order."""
    header, batches = read_rows(path, chunk_size)
    id_column = header.index("patient_id")
    for rows in batches:
        out = []
        for row, cells in rows:
            patient_id = cells[id_column].strip()
            iri = patient_iri(patient_id or f"{path.name}#row-{row}")
            out.append((row, cells, duplicates.check(iri, SourceRef(str(path), row))))
        yield ("parquet", str(path), header, out)


def chunk_records(chunk: tuple, parse: Callable[..., Any] | None = None) -> list[PatientRecord]:
    """The records of one ``"parquet"`` chunk (runs in a worker)."""
    _, name, header, rows = chunk
    path = Path(name)
    return [record(path, row, header, cells, duplicate_of, parse) for row, cells, duplicate_of in rows]
