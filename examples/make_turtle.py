"""Regenerate patients.ttl from patients.csv, so the two example forms always describe the same patients.

Run from the repository root: ``python examples/make_turtle.py``. The Turtle keeps only
the facts the CSV states (explicit 'not tested' values are added again by ingest).
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, Graph, URIRef

from guidekg.ingest import read_patients
from guidekg.namespaces import GK, PREFIXES
from guidekg.vocabulary import vocabulary

HERE = Path(__file__).resolve().parent


def main() -> None:
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns)
    defaults = vocabulary().when_absent
    for record in read_patients([HERE / "patients.csv"]):
        subject = URIRef(record.iri)
        graph.add((subject, RDF.type, GK.Patient))
        for prop, values in record.facts.items():
            for value in values:
                if defaults.get(prop) == str(value):
                    continue  # written back by ingest; keeps the Turtle as sparse as the CSV
                graph.add((subject, URIRef(prop), value))
    text = graph.serialize(format="turtle")
    header = "# Example patients in the guidekg vocabulary, generated from patients.csv by make_turtle.py.\n"
    (HERE / "patients.ttl").write_text(header + text, encoding="utf-8")


if __name__ == "__main__":
    main()
