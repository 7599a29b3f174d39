"""Read a RAS/BRAF result the way genomics reports write it (HGVS), and say when it cannot be read.

Why a module of its own: a variant written ``p.Val600Glu``, ``p.(Val600Glu)``,
``NP_004324.2:p.Val600Glu``, ``p.V600E`` or ``c.1799T>A`` is the same BRAF V600E, and
reading any of them as "another BRAF variant" lets anti-EGFR therapy through. So the
notation is normalised here (reference-sequence prefix, ``p.``, predicted-change
parentheses, three- or one-letter amino acids), and the clinical reading is data:
``ontology/mappings/variants.csv`` (gene, codon, amino acids, exon -> gk value, with the
public source of each row) and ``ontology/mappings/amino-acids.csv``.

A result this module cannot place is *indeterminate*: the caller records nothing (so the
ontology's ``gk:whenAbsent`` 'not tested' value applies and the reasoner asks for testing)
and reports the reason as a warning. It never becomes "wild type" or "non-V600E".
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from .. import resources
from ..namespaces import expand

_PREFIX = re.compile(r"^[^:\s]+:")  # NP_004324.2: / NM_004333.4: / ENST...:
_PROTEIN = re.compile(r"^(?:p\.)?\(?([A-Za-z]{3}|[A-Z])(\d+)([A-Za-z*=?]*[^)]*)\)?$")
_NOT_A_CHANGE = {"", "=", "?", "0"}


@dataclass(frozen=True)
class Row:
    gene: str
    symbol: str
    codon: str  # '' = present with no change stated; '*' = any other interpretable change
    ref: str
    alt: str
    cdna: str
    exon: str
    prop: str
    individual: str
    absent_individual: str


@dataclass(frozen=True)
class Change:
    """One protein change: codon, reference and alternative amino acid (one-letter), as written."""

    codon: int
    ref: str
    alt: str
    text: str


@dataclass(frozen=True)
class Reading:
    """What one gene result means: a gk value, or None (indeterminate) with the reason."""

    prop: str
    individual: str | None
    note: str | None = None  # a warning to report (why indeterminate, or an assumption made)


@dataclass(frozen=True)
class VariantTable:
    rows: tuple[Row, ...]
    amino: dict[str, str]  # lower-case three-letter -> one-letter

    def gene(self, code: str) -> str | None:
        """The HGNC id for an HGNC id or gene symbol, if the guideline reads this gene."""
        for row in self.rows:
            if code in (row.gene, row.symbol) or code.upper() == row.symbol:
                return row.gene
        return None

    def of(self, gene: str) -> list[Row]:
        return [r for r in self.rows if r.gene == gene]


@lru_cache(maxsize=1)
def variant_table() -> VariantTable:
    folder = resources.data_dir("ontology") / "mappings"
    with (folder / "variants.csv").open(encoding="utf-8", newline="") as handle:
        rows = tuple(Row(r["gene"], r["symbol"], r["codon"], r["ref"], r["alt"], r["cdna"], r["exon"],
                         expand(r["property"]), expand(r["individual"]) if r["individual"] else "",
                         expand(r["absent_individual"]) if r["absent_individual"] else "")
                     for r in csv.DictReader(handle))
    with (folder / "amino-acids.csv").open(encoding="utf-8", newline="") as handle:
        amino = {r["three"].lower(): r["one"] for r in csv.DictReader(handle)}
    return VariantTable(rows, amino)


def _amino(token: str, table: VariantTable) -> str | None:
    if len(token) == 1:
        return "*" if token in "*X" else token if token.isupper() else None
    return table.amino.get(token.lower())


def parse_protein(text: str, table: VariantTable | None = None) -> Change | None:
    """A protein change in HGVS-like notation, or None if it cannot be read.

    ``p.Val600Glu``, ``p.(Val600Glu)``, ``NP_004324.2:p.Val600Glu``, ``p.V600E`` and ``V600E``
    all give Change(600, 'V', 'E'). A change that is not a substitution keeps its suffix as
    ``alt`` (``fs``, ``del``...); ``=`` (silent) and ``?`` (unknown) are kept as written.
    """
    table = table or variant_table()
    raw = _PREFIX.sub("", text.strip().replace(" ", ""))
    match = _PROTEIN.match(raw)
    if not match:
        return None
    ref = _amino(match.group(1), table)
    if ref is None:
        return None
    tail = match.group(3)
    alt = _amino(tail, table) if tail and (len(tail) == 1 or len(tail) == 3) else None
    return Change(int(match.group(2)), ref, alt if alt is not None else tail, text)


def _cdna(gene: str, text: str, table: VariantTable) -> Change | None:
    written = _PREFIX.sub("", text.strip().replace(" ", ""))
    for row in table.of(gene):
        if row.cdna and row.cdna == written:
            return Change(int(row.codon), row.ref, row.alt, text)
    return None


def _matches(row: Row, change: Change) -> bool:
    if row.codon in ("", "*") or int(row.codon) != change.codon:
        return False
    if row.ref and row.ref != change.ref:
        return False
    return change.alt == row.alt if row.alt else change.alt not in _NOT_A_CHANGE


_EXON = re.compile(r"exons?\s*#?\s*(\d+(?:\s*(?:-|,|and|&|/)\s*#?\s*\d+)*)", re.IGNORECASE)


def exons(regions: list[str]) -> set[int]:
    """Exon numbers named in DNA region texts ('Exon 2', 'Exon #15', 'exons 2-4', 'exons 2, 3 and 4')."""
    found: set[int] = set()
    for text in regions:
        for match in _EXON.finditer(text):
            spec = match.group(1)
            for part in re.split(r"\s*(?:,|and|&|/)\s*", spec):
                bounds = [int(n) for n in re.findall(r"\d+", part)]
                if len(bounds) == 2 and "-" in part:
                    found |= set(range(bounds[0], bounds[1] + 1))
                else:
                    found |= set(bounds)
    return found


def _absent(rows: list[Row], symbol: str, prop: str, tested: set[int], absent_default: str | None) -> Reading:
    """A plain 'absent' result: wild type over the exons it covers, if they are the exons the guideline needs."""
    if not tested:
        return Reading(prop, absent_default)
    needed = {int(r.exon) for r in rows if r.codon not in ("", "*") and r.exon}
    if needed and needed <= tested:
        return Reading(prop, absent_default)
    for row in rows:
        if row.codon == "" and row.absent_individual and row.exon and {int(e) for e in row.exon.split("|")} == tested:
            return Reading(prop, row.absent_individual)
    shown = ", ".join(map(str, sorted(tested)))
    return Reading(prop, None, f"{symbol} reported absent over exon(s) {shown} only; the guideline needs exons "
                               f"{', '.join(map(str, sorted(needed)))}; recorded as not tested")


def classify(gene: str, present: bool | None, protein: list[str], cdna: list[str],
             absent_default: str | None = None, regions: list[str] | None = None) -> Reading | None:
    """Read one gene result. ``gene`` is an HGNC id; None if the guideline does not read it.

    ``present`` is the result's present/absent answer (None: not stated); ``protein`` and
    ``cdna`` the changes as written; ``absent_default`` the value a plain 'absent' result
    means (from fhir.csv); ``regions`` the DNA regions the result covers ('Exon 2').
    Returns a Reading whose ``individual`` is None when indeterminate.
    """
    table = variant_table()
    rows = table.of(gene)
    if not rows:
        return None
    symbol, prop = rows[0].symbol, rows[0].prop
    written = ", ".join(protein + cdna)
    if present is None:
        return Reading(prop, None, f"{symbol} result has no present/absent value; recorded as not tested")
    changes = [c for c in (parse_protein(t, table) for t in protein) if c is not None]
    changes += [c for c in (_cdna(gene, t, table) for t in cdna) if c is not None]
    if not present:
        if not protein and not cdna:
            return _absent(rows, symbol, prop, exons(regions or []), absent_default)
        for change in changes:
            for row in rows:
                if row.absent_individual and _matches(row, change):
                    return Reading(prop, row.absent_individual)
        return Reading(prop, None, f"{symbol} change {written} reported absent: the absence of one named change says "
                                   f"nothing of the rest of {symbol}; recorded as not tested")
    if not protein and not cdna:
        bare = next((r for r in rows if r.codon == "" and r.individual), None)
        if bare is None:
            return Reading(prop, None, f"{symbol} variant present but no protein or cDNA change is given; "
                                       f"recorded as not tested (the change decides the treatment)")
        return Reading(prop, bare.individual, f"{symbol} variant present without a stated change: read as "
                                              f"'{_label(bare.individual)}'; record the HGVS change to confirm")
    if not changes:
        return Reading(prop, None, f"{symbol} change {written} cannot be interpreted (expected HGVS such as "
                                   f"p.Gly12Asp or p.G12D); recorded as not tested")
    for change in changes:
        for row in rows:
            if _matches(row, change):
                return Reading(prop, row.individual)
    other = next((r for r in rows if r.codon == "*"), None)
    known = {(int(r.codon), r.ref) for r in rows if r.codon not in ("", "*") and r.ref}
    if any(c.codon == codon and c.ref != ref for c in changes for codon, ref in known):
        return Reading(prop, None, f"{symbol} change {written} names the wrong reference amino acid for its codon; "
                                   f"recorded as not tested")
    real = [c for c in changes if c.alt not in _NOT_A_CHANGE]
    if other is not None and real:
        return Reading(prop, other.individual)
    codons = ", ".join(sorted({r.codon for r in rows if r.codon not in ("", "*")}, key=int))
    return Reading(prop, None, f"{symbol} change {written} is not at a codon the guideline classifies ({codons}) "
                               f"or not a protein-changing variant; recorded as not tested")


def _label(iri: str) -> str:
    return iri.rsplit("#", 1)[-1]
