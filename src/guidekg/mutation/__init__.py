"""Mutation testing of the guideline content (ontology and shapes).

A mutant is the content with one small, plausible authoring mistake: a facet bound moved by
one unit, a ``hasValue`` swapped for a sibling value or widened to the whole value class, a
conjunct or disjunct dropped, a subclass axiom moved to a sibling, a shape clause deleted.
Each mutant is evaluated in-process against the expectation corpus (the hand-reviewed
example and conformance expectations, the safety cases, and the boundary cases generated
from the facets); a mutant no expectation notices is a rule no test pins.

:func:`run` reports killed and surviving mutants; :func:`unpinned_rules` is the authoring
review's view of the same result (the surviving mutants not explained as equivalent).
"""

from .mutants import Mutant, generate
from .run import MutationReport, load_equivalents, run, unpinned_rules

__all__ = ["Mutant", "MutationReport", "generate", "load_equivalents", "run", "unpinned_rules"]
