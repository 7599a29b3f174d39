"""The dataset that is served and pushed: every module and every patient in its own named graph.

Named graphs make each part replaceable on its own in a triple store (a Graph Store
Protocol PUT per graph is idempotent, so a re-push never duplicates) and keep patients
independent, as ARCHITECTURE §1 asks. Graph names are stable: the ontology module
``core`` is always ``https://w3id.org/guidekg/graph/ontology/core``; a patient's graph is
the patient IRI (the convention of :func:`guidekg.export.rdf.results_dataset`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rdflib import Dataset, Graph, URIRef

from .. import resources
from ..namespaces import PREFIXES

GRAPH_BASE = "https://w3id.org/guidekg/graph/"
PROVENANCE_GRAPH = URIRef(GRAPH_BASE + "provenance")


def module_graph(kind: str, name: str) -> URIRef:
    """Name of the graph holding one content file (``kind`` is ``ontology`` or ``shapes``)."""
    return URIRef(f"{GRAPH_BASE}{kind}/{name}")


def knowledge_dataset(results: Sequence = (), reasoner: str = "fast", shapes: bool = True) -> Dataset:
    """Ontology modules, shapes (optional), and the assessed patients with their inferences.

    The run's PROV-O activity, which :func:`results_dataset` keeps in the default graph, is
    moved to :data:`PROVENANCE_GRAPH`: stores disagree on what their default graph is
    (Virtuoso's is the union of everything), so nothing is left there.
    """
    dataset = Dataset()
    for prefix, namespace in PREFIXES.items():
        dataset.bind(prefix, namespace)
    for name in resources.ONTOLOGY_MODULES:
        _copy(resources.shared_graph("ontology", name), dataset.graph(module_graph("ontology", name)))
    if shapes:
        for name in resources.SHAPES:
            _copy(resources.shared_graph("shapes", name), dataset.graph(module_graph("shapes", name)))
    if results:
        from ..export.rdf import results_dataset

        patients = results_dataset(results, reasoner)
        for graph in patients.graphs():
            if graph.identifier == patients.default_graph.identifier:
                target = dataset.graph(PROVENANCE_GRAPH)
            else:
                target = dataset.graph(graph.identifier)
            _copy(graph, target)
    return dataset


def named_graphs(dataset: Dataset) -> list[Graph]:
    """The non-empty named graphs of ``dataset`` in a stable order (by name)."""
    default = dataset.default_graph.identifier
    graphs = [g for g in dataset.graphs() if g.identifier != default and len(g)]
    return sorted(graphs, key=lambda g: str(g.identifier))


def _copy(source: Graph, target: Graph) -> None:
    for triple in source:
        target.add(triple)
