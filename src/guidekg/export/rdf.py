"""RDF output: each patient's facts, inferred classes and recommendation links, with PROV-O.

Every derived statement hangs off a ``gk:Assessment`` that PROV-O ties to the run that made
it (which reasoner, which ontology version, when), so a triple store can tell asserted
facts from inferences and trace each inference to its source.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from rdflib import RDF, RDFS, XSD, Dataset, Graph, Literal, URIRef

from .. import __version__
from ..knowledge import knowledge
from ..namespaces import GK, PREFIXES, PROV, RUN, expand
from ..recommend import PatientResult


def _bind(graph: Graph) -> None:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns)


def add_results(graph: Graph, results: Sequence[PatientResult], reasoner: str, run: URIRef | None = None) -> URIRef:
    """Add patients and their derivations to ``graph``; returns the run IRI."""
    kb = knowledge()
    run = run or RUN[str(uuid.uuid4())]
    agent = URIRef(f"https://w3id.org/guidekg/reasoner/{reasoner}")
    graph.add((run, RDF.type, PROV.Activity))
    graph.add((run, RDFS.label, Literal(f"guidekg {__version__} assessment with the {reasoner} reasoner")))
    graph.add((run, PROV.startedAtTime, Literal(dt.datetime.now(dt.UTC).isoformat(), datatype=XSD.dateTime)))
    graph.add((run, PROV.used, URIRef(kb.version)))
    graph.add((run, PROV.wasAssociatedWith, agent))
    graph.add((agent, RDF.type, PROV.SoftwareAgent))
    graph.add((agent, RDFS.label, Literal(f"guidekg {reasoner} reasoner")))
    for result in results:
        patient = URIRef(result.record.iri)
        for triple in result.record.triples():
            graph.add(triple)
        assessment = URIRef(f"{result.record.iri}/assessment/{run.rsplit('/', 1)[-1]}")
        graph.add((assessment, RDF.type, GK.Assessment))
        graph.add((assessment, RDF.type, PROV.Entity))
        graph.add((assessment, GK.assessmentOf, patient))
        graph.add((assessment, PROV.wasGeneratedBy, run))
        graph.add((assessment, GK.assessmentStatus, Literal(result.status)))
        graph.add((patient, GK.assessmentStatus, Literal(result.status)))
        for cls in sorted(result.classes):
            if cls in kb.treatment_classes or cls in kb.alert_classes:
                graph.add((patient, RDF.type, URIRef(cls)))
        for rec in result.recommendations:
            graph.add((patient, GK.hasRecommendation, URIRef(expand(rec["id"]))))
            graph.add((assessment, GK.hasRecommendation, URIRef(expand(rec["id"]))))
        for alert in result.alerts:
            graph.add((patient, GK.hasAlert, URIRef(expand(alert["id"]))))
            graph.add((assessment, GK.hasAlert, URIRef(expand(alert["id"]))))
    return run


def results_graph(results: Sequence[PatientResult], reasoner: str) -> Graph:
    graph = Graph()
    _bind(graph)
    add_results(graph, results, reasoner)
    return graph


def results_dataset(results: Sequence[PatientResult], reasoner: str) -> Dataset:
    """One named graph per patient (the graph IRI is the patient IRI), provenance in the default graph."""
    dataset = Dataset()
    _bind(dataset)
    run = RUN[str(uuid.uuid4())]
    default = dataset.default_context
    for result in results:
        add_results(dataset.graph(URIRef(result.record.iri)), [result], reasoner, run)
    add_results(default, [], reasoner, run)
    return dataset


def render_rdf(results: Sequence[PatientResult], reasoner: str, fmt: str = "turtle") -> str:
    return results_graph(results, reasoner).serialize(format=fmt)
