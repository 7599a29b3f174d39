"""Checks of ontology/terminology.ttl (SKOS mappings from the gk: vocabulary to standard codes).

Each check is a function returning a list of problems, run once on the real files (must be
empty) and once on a deliberately broken graph (must not be empty), so that every check is
shown to be able to fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SKOS

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "ontology" / "core.ttl"
TERMINOLOGY = ROOT / "ontology" / "terminology.ttl"

GK = Namespace("https://w3id.org/guidekg/ontology#")

MAPPING_PROPERTIES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch)

# scheme URI -> (regex the notation must match, function building the expected IRI from the notation)
SCHEMES: dict[str, tuple[re.Pattern[str], object]] = {
    "http://snomed.info/sct": (re.compile(r"^\d{6,18}$"), lambda n: f"http://snomed.info/id/{n}"),
    "http://loinc.org": (re.compile(r"^(\d{1,7}-\d|LA\d+-\d)$"), lambda n: f"https://loinc.org/{n}/"),
    "http://www.genenames.org": (
        re.compile(r"^(HGNC:\d+|\d+)$"),
        lambda n: f"https://identifiers.org/hgnc:{n.removeprefix('HGNC:')}",
    ),
    "http://www.nlm.nih.gov/research/umls/rxnorm": (
        re.compile(r"^\d+$"),
        lambda n: f"http://purl.bioontology.org/ontology/RXNORM/{n}",
    ),
    "http://www.whocc.no/atc": (
        re.compile(r"^[A-Z]\d{2}[A-Z]{2}\d{2}$"),
        lambda n: f"http://purl.bioontology.org/ontology/ATC/{n}",
    ),
    "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl": (
        re.compile(r"^C\d+$"),
        lambda n: f"http://purl.obolibrary.org/obo/NCIT_{n}",
    ),
    "http://hl7.org/fhir/administrative-gender": (
        re.compile(r"^(male|female|other|unknown)$"),
        lambda n: f"http://hl7.org/fhir/administrative-gender#{n}",
    ),
}


# ---------------------------------------------------------------- checks (graph -> problems)
def mappings(terms: Graph) -> list[tuple[URIRef, URIRef, URIRef]]:
    return [(s, p, o) for p in MAPPING_PROPERTIES for s, o in terms.subject_objects(p)]


def declared_terms(core: Graph) -> set[URIRef]:
    kinds = (OWL.Class, OWL.NamedIndividual, OWL.ObjectProperty, OWL.DatatypeProperty)
    return {s for kind in kinds for s in core.subjects(RDF.type, kind) if isinstance(s, URIRef)}


def problems_subjects(core: Graph, terms: Graph) -> list[str]:
    """Every mapping subject is a gk: term declared in core.ttl."""
    known = declared_terms(core)
    return [f"{s} is mapped but not declared in core.ttl" for s, _, _ in mappings(terms) if s not in known]


def problems_targets(terms: Graph) -> list[str]:
    """Every target has one notation, one allowed scheme, a label, and an IRI agreeing with both."""
    out: list[str] = []
    for target in sorted({o for _, _, o in mappings(terms)}):
        if not isinstance(target, URIRef) or str(target).startswith(str(GK)):
            out.append(f"{target}: mapping target must be an external IRI")
            continue
        notations = list(terms.objects(target, SKOS.notation))
        schemes = list(terms.objects(target, SKOS.inScheme))
        if len(notations) != 1 or len(schemes) != 1:
            out.append(f"{target}: needs exactly one skos:notation and one skos:inScheme")
            continue
        if not list(terms.objects(target, RDFS.label)):
            out.append(f"{target}: no rdfs:label")
        notation, scheme = str(notations[0]), str(schemes[0])
        if scheme not in SCHEMES:
            out.append(f"{target}: scheme {scheme} is not an allowed code system")
            continue
        pattern, build = SCHEMES[scheme]
        if not pattern.match(notation):
            out.append(f"{target}: notation {notation!r} is not a well-formed {scheme} code")
        elif str(target) != build(notation):
            out.append(f"{target}: IRI does not agree with notation {notation!r} in {scheme}")
    return out


def problems_sources(terms: Graph) -> list[str]:
    """Every mapped gk: term names its verification source in an rdfs:comment."""
    return [
        f"{s} is mapped without an rdfs:comment naming its source"
        for s in sorted({s for s, _, _ in mappings(terms)})
        if not any(str(c).strip() for c in terms.objects(s, RDFS.comment))
    ]


def _members(core: Graph, cls: URIRef) -> set[URIRef]:
    classes = {cls} | set(core.transitive_subjects(RDFS.subClassOf, cls))
    return {i for c in classes for i in core.subjects(RDF.type, c) if (i, RDF.type, OWL.NamedIndividual) in core}


def problems_shared_exact(core: Graph, terms: Graph) -> list[str]:
    """No code is the exactMatch of two different values of the same patient property."""
    out: list[str] = []
    for prop in sorted(core.subjects(RDF.type, OWL.ObjectProperty)):
        for rng in core.objects(prop, RDFS.range):
            seen: dict[URIRef, URIRef] = {}
            for value in sorted(_members(core, rng)):
                for code in terms.objects(value, SKOS.exactMatch):
                    if code in seen and seen[code] != value:
                        out.append(f"{code} is the exactMatch of both {seen[code]} and {value} ({prop})")
                    seen.setdefault(code, value)
    return out


def problems_one_exact_per_scheme(terms: Graph) -> list[str]:
    """A gk: term has at most one exactMatch per code system (two would be contradictory)."""
    out: list[str] = []
    for s in sorted({s for s, _, _ in mappings(terms)}):
        by_scheme: dict[str, list[URIRef]] = {}
        for code in terms.objects(s, SKOS.exactMatch):
            for scheme in terms.objects(code, SKOS.inScheme):
                by_scheme.setdefault(str(scheme), []).append(code)
        out += [f"{s} has {len(c)} exactMatch codes in {sch}" for sch, c in by_scheme.items() if len(c) > 1]
    return out


CHECKS = ("subjects", "targets", "sources", "shared_exact", "one_exact_per_scheme")


def run(check: str, core: Graph, terms: Graph) -> list[str]:
    return {
        "subjects": lambda: problems_subjects(core, terms),
        "targets": lambda: problems_targets(terms),
        "sources": lambda: problems_sources(terms),
        "shared_exact": lambda: problems_shared_exact(core, terms),
        "one_exact_per_scheme": lambda: problems_one_exact_per_scheme(terms),
    }[check]()


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def core() -> Graph:
    return Graph().parse(CORE, format="turtle")


@pytest.fixture(scope="module")
def terms() -> Graph:
    return Graph().parse(TERMINOLOGY, format="turtle")


def broken_copy(terms: Graph) -> Graph:
    """The real mappings plus one defect for every check."""
    g = Graph()
    for t in terms:
        g.add(t)
    sct = Namespace("http://snomed.info/id/")
    loinc_h, loinc_s = URIRef("https://loinc.org/LA26203-2/"), URIRef("https://loinc.org/LA14122-8/")
    # subjects: an undeclared gk: term
    g.add((GK.NoSuchSite, SKOS.exactMatch, sct["34402009"]))
    # shared_exact: MSS and MSI-H both exactly LA26203-2; also a second LOINC exactMatch on MSI-H
    g.add((GK.MSS, SKOS.exactMatch, loinc_h))
    g.add((GK.MSI_High, SKOS.exactMatch, loinc_s))
    # targets: notation inconsistent with IRI, malformed code, unknown scheme, missing notation
    wrong_iri = URIRef("http://snomed.info/id/11111111")
    g.add((GK.Pain, SKOS.closeMatch, wrong_iri))
    g.add((wrong_iri, SKOS.inScheme, URIRef("http://snomed.info/sct")))
    g.add((wrong_iri, SKOS.notation, Literal("22222222")))
    g.add((wrong_iri, RDFS.label, Literal("x")))
    bad_atc = URIRef("http://purl.bioontology.org/ontology/ATC/L01F")
    g.add((GK.AntiEGFR, SKOS.broadMatch, bad_atc))
    g.add((bad_atc, SKOS.inScheme, URIRef("http://www.whocc.no/atc")))
    g.add((bad_atc, SKOS.notation, Literal("L01F")))
    g.add((bad_atc, RDFS.label, Literal("x")))
    odd = URIRef("http://example.org/code/1")
    g.add((GK.Bleeding, SKOS.closeMatch, odd))
    g.add((odd, SKOS.inScheme, URIRef("http://example.org/codes")))
    g.add((odd, SKOS.notation, Literal("1")))
    g.add((GK.Obstruction, SKOS.closeMatch, URIRef("http://snomed.info/id/33333333")))
    # sources: GK.Pain, GK.AntiEGFR, GK.Bleeding, GK.Obstruction have no rdfs:comment
    return g


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("check", CHECKS)
def test_real_mappings_pass(check: str, core: Graph, terms: Graph) -> None:
    assert run(check, core, terms) == []


@pytest.mark.parametrize("check", CHECKS)
def test_check_detects_defects(check: str, core: Graph, terms: Graph) -> None:
    assert run(check, core, broken_copy(terms)), f"check {check} did not catch the planted defect"


def test_targets_detect_each_kind_of_defect(terms: Graph) -> None:
    found = "\n".join(problems_targets(broken_copy(terms)))
    for fragment in ("does not agree", "not a well-formed", "not an allowed code system", "exactly one skos:notation"):
        assert fragment in found


def test_mappings_exist_for_required_areas(terms: Graph) -> None:
    """The areas the design requires are covered (guards against an emptied file passing)."""
    required = {
        GK.Rectum: SKOS.exactMatch, GK.SigmoidColon: SKOS.exactMatch, GK.DescendingColon: SKOS.exactMatch,
        GK.AscendingColon: SKOS.exactMatch, GK.TransverseColon: SKOS.exactMatch, GK.Caecum: SKOS.exactMatch,
        GK.Rectosigmoid: SKOS.exactMatch, GK.MSI_High: SKOS.exactMatch, GK.MSS: SKOS.closeMatch,
        GK.KRASStatus: SKOS.relatedMatch, GK.NRASStatus: SKOS.relatedMatch, GK.BRAFStatus: SKOS.relatedMatch,
        GK.ecog: SKOS.closeMatch, GK.Cetuximab: SKOS.exactMatch, GK.Panitumumab: SKOS.exactMatch,
        GK.Bevacizumab: SKOS.exactMatch, GK.Pembrolizumab: SKOS.exactMatch, GK.Female: SKOS.exactMatch,
        GK.Male: SKOS.exactMatch,
    }
    missing = [f"{s} {p}" for s, p in required.items() if not list(terms.objects(s, p))]
    assert missing == []


def test_partial_verifications_are_flagged(terms: Graph) -> None:
    """Codes kept although only partly verified carry an editorial note and are not exactMatch."""
    for subject in (GK.Bilobar, GK.Unilobar):
        assert list(terms.objects(subject, SKOS.editorialNote)), subject
        assert not list(terms.objects(subject, SKOS.exactMatch)), subject


def test_no_skos_term_on_core_is_redefined(core: Graph, terms: Graph) -> None:
    """terminology.ttl adds mappings only: it never retypes or relabels a core gk: term."""
    redefined = [
        (s, p) for s, p, _ in terms
        if isinstance(s, URIRef) and str(s).startswith(str(GK)) and p in (RDF.type, RDFS.label, RDFS.subClassOf)
    ]
    assert redefined == []
