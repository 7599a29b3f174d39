"""The streaming population path: patients in, NDJSON out, bounded memory, input order.

``guidekg recommend BIG.csv --format ndjson [--workers N]`` runs here. Inputs are read in
chunks (:data:`CHUNK_SIZE` patients); each chunk is parsed, validated (the compiled shapes of
:mod:`guidekg.fastvalidate`, equal to pySHACL), reasoned (the memoised fast engine) and
rendered by one worker process, and chunks are written back in input order as they finish,
with at most ``2 x workers`` chunks in flight. Every input patient yields exactly one line,
including malformed rows ('invalid', with their line number); the summary counts add up to
the number of patients read.

A CSV case sheet is streamed from disk and parsed in the workers (rows travel as strings, so
the parent only splits lines and checks patient ids for duplicates). Other inputs (RDF, FHIR)
are read by their readers in the parent and travel as records.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .batch_ids import _Duplicates
from .export.lines import render_line
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


@dataclass
class Summary:
    """What a batch run did; ``total`` always equals the number of input patients."""

    ok: int = 0
    invalid: int = 0
    contradictory: int = 0
    violations: int = 0  # ok patients with a violation-severity alert
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.ok + self.invalid + self.contradictory

    def add(self, other: dict[str, Any]) -> None:
        self.ok += other["ok"]
        self.invalid += other["invalid"]
        self.contradictory += other["contradictory"]
        self.violations += other["violations"]

    @property
    def exit_code(self) -> int:
        return 1 if self.invalid or self.contradictory or self.violations else 0

    def line(self) -> str:
        rate = self.total / self.seconds if self.seconds else 0.0
        return (f"guidekg: {self.total:,} patients: {self.ok:,} ok, {self.invalid:,} invalid, "
                f"{self.contradictory:,} contradictory ({self.seconds:.1f} s, {rate:,.0f} patients/s)")


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


# ------------------------------------------------------------------------------ processing

def assess_chunk(chunk: Chunk, reasoner: str = "fast", explain: bool = False) -> list[Any]:
    """Every patient of one chunk assessed (PatientResult, input order): the unit of work
    NDJSON, compact, Parquet, the audit and Spark executors all share."""
    from .fastvalidate import validate_fast
    from .reasoning import get_reasoner
    from .recommend import assess

    engine = _engine(reasoner, get_reasoner)
    return assess(_records(chunk), reasoner=engine, explain=explain, validator=validate_fast)


def _count(results: list[Any]) -> dict[str, int]:
    counts = {"ok": 0, "invalid": 0, "contradictory": 0, "violations": 0}
    for result in results:
        counts[result.status] += 1
        if result.status == "ok" and any(a["severity"] == "violation" for a in result.alerts):
            counts["violations"] += 1
    return counts


def process_chunk(chunk: Chunk, reasoner: str = "fast", explain: bool = False) -> tuple[str, dict[str, int]]:
    """Assess one chunk; returns its NDJSON text and status counts (runs in a worker)."""
    results = assess_chunk(chunk, reasoner, explain)
    lines = [render_line(result, explain) for result in results]
    return "\n".join(lines) + "\n", _count(results)


_CLASS_RECS: dict[str, list[str]] = {}


def process_chunk_compact(chunk: Chunk, reasoner: str = "fast", explain: bool = False) -> tuple[str, dict[str, Any]]:
    """Assess one chunk into compact rows (:mod:`guidekg.export.compact`); the counts carry
    the dictionary entries the rows refer to under ``"dictionary"``."""
    from .export.compact import class_recommendation_ids, compact_row, new_dictionary
    from .knowledge import knowledge

    if not _CLASS_RECS:
        _CLASS_RECS.update(class_recommendation_ids(knowledge()))
    results = assess_chunk(chunk, reasoner, explain)
    dictionary = new_dictionary()
    dump = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode
    lines = [dump(compact_row(result.as_json(explain), _CLASS_RECS, dictionary)) for result in results]
    counts: dict[str, Any] = dict(_count(results), dictionary=dictionary)
    return "\n".join(lines) + "\n", counts


def _process_chunk_encoded(chunk: Chunk, reasoner: str = "fast", explain: bool = False,
                           compact: bool = False) -> tuple[bytes, dict[str, Any]]:
    """:func:`process_chunk` (or its compact form) as UTF-8 bytes, what every engine returns: one
    copy through a worker's pipe, written to the output's buffer with no re-encoding."""
    text, counts = (process_chunk_compact if compact else process_chunk)(chunk, reasoner, explain)
    return text.encode("utf-8"), counts


_ENGINES: dict[str, Any] = {}


def _engine(name: str, factory: Callable[[str], Any]) -> Any:
    """One reasoner per process, so its memo lives across chunks."""
    if name not in _ENGINES:
        _ENGINES[name] = factory(name)
    return _ENGINES[name]


def warm(reasoner: str) -> None:
    """Load everything shared before forking workers, so each starts ready (copy-on-write)."""
    from .fastvalidate import compile_validator
    from .knowledge import knowledge
    from .reasoning import get_reasoner

    vocabulary()
    compile_validator()
    kb = knowledge()
    _ = kb.treatment_classes, kb.alert_classes
    engine = _engine(reasoner, get_reasoner)
    if hasattr(engine, "evaluator"):
        _ = engine.evaluator


def _progress(done: int, started: float, stream: TextIO) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    stream.write(f"\r{done:,} patients ({rate:,.0f}/s)")
    stream.flush()


GC_THRESHOLD = (50_000, 50, 100)
"""Collector thresholds during a batch run (Python's default: (700, 10, 10)). A chunk allocates
millions of short-lived objects that reference counting frees; with the default the cyclic
collector walked the whole heap 32 times in 22,000 patients, for nothing. Collection still
runs (memory stays bounded), never changing a result: 0.59-0.63 -> 0.52 ms CPU a patient."""


@contextmanager
def few_collections() -> Iterator[None]:
    """:data:`GC_THRESHOLD` for the run (forked workers inherit it), the caller's restored after."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def map_chunks(work: Iterable[Chunk], func: Callable[..., Any], args: tuple, workers: int = 1,
               mapper: Callable[..., Iterator[Any]] | None = None) -> Iterator[Any]:
    """``func(chunk, *args)`` for every chunk, in input order, on ``mapper`` (Spark), in ``workers``
    processes or here, with few collections: the one dispatch of run_batch and the audit."""
    with few_collections():
        if mapper is not None:
            yield from mapper(work, func, args)
        elif workers <= 1:
            for chunk in work:
                yield func(chunk, *args)
        else:
            yield from ordered_map(work, func, args, workers)


def run_batch(inputs: Iterable[str | Path], out: TextIO, reasoner: str = "fast", explain: bool = False,
              workers: int = 1, chunk_size: int = CHUNK_SIZE, progress: TextIO | None = None,
              dictionary: dict[str, Any] | None = None, mapper: Callable[..., Iterator[Any]] | None = None) -> Summary:
    """Stream every input patient to ``out`` as NDJSON, in input order; return the counts.

    With ``dictionary`` (a :func:`guidekg.export.compact.new_dictionary`), rows are compact
    and the dictionary is filled with what they refer to; write it beside the rows.
    ``mapper(work, func, args)`` replaces the local worker pool (:func:`guidekg.spark.mapper`
    runs the same chunks on Spark executors); it must yield results in input order."""
    compact = dictionary is not None
    started = time.perf_counter()
    summary = Summary()
    warm(reasoner)
    out.flush()
    binary = getattr(out, "buffer", None)

    work = chunks(inputs, chunk_size)
    for data, counts in map_chunks(work, _process_chunk_encoded, (reasoner, explain, compact), workers, mapper):
        if compact:
            from .export.compact import merge

            merge(dictionary, counts["dictionary"])
        if binary is not None:
            binary.write(data)
        else:
            out.write(data.decode("utf-8"))
        summary.add(counts)
        if progress is not None:
            _progress(summary.total, started, progress)
    if binary is not None:
        binary.flush()
    out.flush()
    if progress is not None:
        progress.write("\n")
    summary.seconds = time.perf_counter() - started
    return summary


def ordered_map(work: Iterable[Chunk], func: Callable[..., Any], args: tuple, workers: int) -> Iterator[Any]:
    """``func(chunk, *args)`` for every chunk in worker processes, results in input order,
    at most ``2 x workers`` chunks in flight (memory stays flat whatever the input size)."""
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    # The warm ontology, knowledge and compiled checks are shared with forked workers
    # copy-on-write; frozen, the workers' garbage collector never writes to their pages.
    gc.collect()
    gc.freeze()
    try:
        pool = context.Pool(workers)
    finally:
        gc.unfreeze()
    with pool:
        pending: deque = deque()
        for chunk in work:
            pending.append(pool.apply_async(func, (chunk, *args)))
            while len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1))
