"""Guideline concordance across a cohort (``guidekg audit``), from the decision layer's plan verdicts.

The cohort streams through the population path (:func:`guidekg.batch.chunks`,
:func:`guidekg.batch.assess_chunk`, :func:`guidekg.batch.ordered_map`): each worker assesses a
chunk and returns only its counts (:mod:`guidekg.audit.tally`), so memory stays flat however
large the cohort. Every input patient is counted exactly once (invalid rows too). With
``--engine spark`` the same chunks are counted on Spark executors (:mod:`guidekg.spark`) and
their tallies summed here, so the report is the local one.

Grouping: the case sheet refuses unknown columns (ARCHITECTURE §4.2), so a grouping column
(centre, year ...) comes from a separate CSV, ``--groups FILE.csv``, keyed by ``patient_id``;
``--by COLUMN`` names the column of that file. Patients the file does not list fall in the
group ``(unlisted)``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .tally import ALL, NO_RULE, Tally, add_patient, merge, new_tally

__all__ = ["AuditResult", "read_groups", "run_audit"]

UNLISTED = "(unlisted)"

_GROUPS: dict[str, str] = {}  # set in the parent before workers fork


@dataclass
class AuditResult:
    tally: Tally
    labels: dict[str, str] = field(default_factory=dict)  # rule CURIE -> label
    kinds: dict[str, str] = field(default_factory=dict)  # rule CURIE -> recommendation | safety rule | ...
    by: str | None = None
    version: str = ""

    @property
    def groups(self) -> list[str]:
        return sorted({key[0] for key in self.tally["patients"]} - {ALL})


def read_groups(path: str | Path, column: str) -> dict[str, str]:
    """patient_id -> value of ``column`` (a clear error names the file and what is wrong)."""
    from ..ingest.errors import InputError

    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        if "patient_id" not in fields or column not in fields:
            missing = [c for c in ("patient_id", column) if c not in fields]
            raise InputError(str(path), 1, f"the groups file needs the column(s) {', '.join(missing)}; it has {', '.join(fields)}")
        groups: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            patient = (row["patient_id"] or "").strip()
            if not patient:
                raise InputError(str(path), line, "empty patient_id")
            if patient in groups:
                raise InputError(str(path), line, f"patient_id '{patient}' listed twice")
            groups[patient] = (row[column] or "").strip() or "(empty)"
    return groups


def _audit_chunk(chunk: Any, reasoner: str, grouped: bool, shared: Any = None) -> Tally:
    """Count one chunk. Groups come from the parent's memory (forked workers), or from
    ``shared.value`` where a mapper ships them (a Spark broadcast variable)."""
    from ..batch import assess_chunk

    groups = _GROUPS if shared is None else shared.value
    tally = new_tally()
    for result in assess_chunk(chunk, reasoner):
        full = result.as_json()
        group = groups.get(full["patient"], UNLISTED) if grouped else None
        add_patient(tally, full, group)
    return tally


@dataclass(frozen=True)
class _Shared:
    """A value travelling with each chunk, for a mapper that cannot broadcast."""

    value: Any


def _labels(tally: Tally) -> tuple[dict[str, str], dict[str, str]]:
    """Rule labels and kinds from the knowledge (read once, not per patient)."""
    from ..knowledge import knowledge
    from ..namespaces import curie, expand

    kb = knowledge()
    tables = kb.plan_tables
    labels: dict[str, str] = {}
    kinds: dict[str, str] = {}
    shapes = {curie(rule.iri): alert for alert, rule in tables.shapes_by_alert.items()}
    for rule in {key[1] for key in tally["rules"]}:
        if rule == NO_RULE:
            labels[rule], kinds[rule] = "outside the guideline (no rule)", "none"
            continue
        item = tables.items.get(expand(rule))
        if rule in shapes:
            labels[rule], kinds[rule] = kb.alert(shapes[rule]).get("label") or rule, "safety rule"
        elif item is not None and item.kind == "rec":
            labels[rule], kinds[rule] = item.label or tables.labels.get(expand(rule)) or rule, "recommendation"
        elif item is not None:
            labels[rule], kinds[rule] = kb.alert(expand(rule)).get("label") or rule, "alert"
        else:
            labels[rule], kinds[rule] = tables.labels.get(expand(rule)) or rule, "rule"
    return labels, kinds


def run_audit(inputs: Iterable[str | Path], groups: dict[str, str] | None = None, by: str | None = None,
              reasoner: str = "fast", workers: int = 1, chunk_size: int = 2000,
              mapper: Callable[..., Iterator[Any]] | None = None) -> AuditResult:
    """Assess every patient of the cohort and count concordance per rule (and per group).

    ``mapper(work, func, args)`` replaces the local worker pool, as in
    :func:`guidekg.batch.run_batch` (:func:`guidekg.spark.mapper`: the chunks are counted on
    Spark executors and their tallies summed here; sums do not depend on the order, the
    chunks and so the counts are the local engine's). A mapper with ``share(value)`` ships
    the groups once instead of with every chunk."""
    from ..batch import chunks, map_chunks, warm
    from ..knowledge import knowledge

    warm(reasoner)
    _GROUPS.clear()
    _GROUPS.update(groups or {})
    grouped = groups is not None
    tally = new_tally()
    work = chunks(inputs, chunk_size)
    try:
        args: tuple = (reasoner, grouped)
        if mapper is not None:  # executors do not share the parent's memory: ship the groups
            args += (mapper.share(dict(_GROUPS)) if hasattr(mapper, "share") else _Shared(dict(_GROUPS)),)
        for part in map_chunks(work, _audit_chunk, args, workers, mapper):
            merge(tally, part)
    finally:
        _GROUPS.clear()
    labels, kinds = _labels(tally)
    return AuditResult(tally, labels, kinds, by, knowledge().version)
