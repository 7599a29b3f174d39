"""The reference reasoner: HermiT through owlready2.

This is the only module that imports owlready2. Every call builds a private ``World`` (never
owlready2's global ``default_world``), so calls are independent and thread-safe.

HermiT's realization cost grows faster than linearly with the ABox, so patients go through
in batches (:data:`BATCH_SIZE`). One inconsistent patient makes the whole batch inconsistent;
because patients never link to each other, the batch is bisected until each inconsistent
patient is alone, and every other patient is classified exactly as if it were alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from rdflib import OWL, RDF, Graph, Literal, URIRef

from .. import resources
from ..logic import OWL2_DATATYPES, Evaluator, read_axioms
from ..model import PatientRecord, Reasoned
from ..namespaces import GK
from .base import ReasonerUnavailable
from .conflicts import find_conflicts

BATCH_SIZE = 50
"""Patients per JVM run. Measured on 200 synthetic patients (one run each, busy 2-core machine):
batches of 10: 440 ms a patient, 25: 400, 50: 393, 100: 431, 200: 668."""


def _check_java() -> None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ReasonerUnavailable(
            "HermiT needs Java, and no 'java' was found on PATH (install a JRE, e.g. 'apt-get install "
            "default-jre-headless'), or use the pure-Python engine with --reasoner fast"
        )


class HermitReasoner:
    """Realization and consistency by HermiT, one private owlready2 World per call."""

    name = "hermit"

    def __init__(self, tbox: Graph | None = None) -> None:
        self._tbox = tbox if tbox is not None else resources.shared_graph("ontology", *resources.LOGIC_MODULES)

    @cached_property
    def _evaluator(self) -> Evaluator:
        return Evaluator(read_axioms(self._tbox))

    @cached_property
    def _tbox_ntriples(self) -> bytes:
        return self._tbox.serialize(format="nt", encoding="utf-8")

    def _run(self, patients: Sequence[PatientRecord]) -> dict[str, frozenset[str]] | None:
        """Classify a batch; None if HermiT finds the batch inconsistent."""
        import owlready2

        _check_java()
        abox = Graph()
        for record in patients:
            for s, p, o in record.triples():
                if isinstance(o, Literal) and o.datatype is not None and str(o.datatype) not in OWL2_DATATYPES:
                    continue  # e.g. xsd:date: outside OWL 2, used only by SHACL (see core.ttl gk:datatypeOutsideOWL)
                abox.add((s, p, o))
            abox.add((URIRef(record.iri), RDF.type, OWL.NamedIndividual))
        with tempfile.TemporaryDirectory(prefix="guidekg-hermit-") as tmp:
            path = Path(tmp) / "kb.nt"
            path.write_bytes(self._tbox_ntriples + abox.serialize(format="nt", encoding="utf-8"))
            world = owlready2.World()
            try:
                onto = world.get_ontology(path.as_uri()).load()
                with onto:
                    owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
            except owlready2.OwlReadyInconsistentOntologyError:
                return None
            except owlready2.OwlReadyJavaError as exc:
                raise ReasonerUnavailable(f"HermiT failed: {exc}") from exc
            finally:
                pass
            result: dict[str, frozenset[str]] = {}
            thing = str(OWL.Thing)
            for record in patients:
                individual = world[record.iri]
                classes: set[str] = set()
                for cls in individual.is_a if individual is not None else []:
                    if isinstance(cls, owlready2.ThingClass):
                        classes |= {c.iri for c in cls.ancestors()}
                        for eq in cls.equivalent_to:
                            if isinstance(eq, owlready2.ThingClass):
                                classes |= {c.iri for c in eq.ancestors()}
                classes.discard(thing)
                result[record.iri] = frozenset(classes)
            world.close()
            return result

    def _realize_isolating(self, patients: Sequence[PatientRecord], out: dict[str, Reasoned]) -> None:
        found = self._run(patients)
        if found is not None:
            for iri, classes in found.items():
                out[iri] = Reasoned(consistent=True, classes=classes)
            return
        if len(patients) == 1:
            record = patients[0]
            conflicts = find_conflicts(self._evaluator, record.facts, (str(GK.Patient),))
            if not conflicts:
                conflicts = ["HermiT finds the record inconsistent with the ontology; no single clashing pair of facts was identified"]
            out[record.iri] = Reasoned(consistent=False, conflicts=tuple(conflicts))
            return
        middle = len(patients) // 2
        self._realize_isolating(patients[:middle], out)
        self._realize_isolating(patients[middle:], out)

    def realize(self, patients: Sequence[PatientRecord]) -> dict[str, Reasoned]:
        """Every verdict is HermiT's own. The structural clash finder only decides how patients
        are grouped: a patient it suspects goes through HermiT alone (one JVM run settles it),
        the others in batches, so one contradictory record costs one run instead of a
        bisection of its whole batch (~2 log2(200) runs). If a batch is still inconsistent,
        bisection finds the culprit as before."""
        out: dict[str, Reasoned] = {}
        suspects = [r for r in patients if find_conflicts(self._evaluator, r.facts, (str(GK.Patient),))]
        suspect_ids = {id(r) for r in suspects}
        clean = [r for r in patients if id(r) not in suspect_ids]
        for start in range(0, len(clean), BATCH_SIZE):
            self._realize_isolating(clean[start:start + BATCH_SIZE], out)
        for record in suspects:
            self._realize_isolating([record], out)
        return out

    def unsatisfiable_classes(self) -> set[str]:
        import owlready2

        _check_java()
        with tempfile.TemporaryDirectory(prefix="guidekg-hermit-") as tmp:
            path = Path(tmp) / "tbox.nt"
            path.write_bytes(self._tbox_ntriples)
            world = owlready2.World()
            onto = world.get_ontology(path.as_uri()).load()
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
            nothing = {c.iri for c in world.inconsistent_classes()}
            world.close()
            return nothing
