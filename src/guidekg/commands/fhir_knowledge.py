"""``guidekg fhir-knowledge [--out FILE]``: the guideline as FHIR knowledge artifacts (one Bundle)."""

from __future__ import annotations

import json

from .common import write_output


def add_parser(sub):
    p = sub.add_parser("fhir-knowledge",
                       help="write the guideline as FHIR R4 PlanDefinition, ActivityDefinitions, Library and CodeSystems "
                            "(the canonicals --format fhir refers to)")
    p.add_argument("--out", help="write to this file instead of standard output")
    return p


def run(args) -> int:
    from ..export.fhir_knowledge import knowledge_bundle

    write_output(json.dumps(knowledge_bundle(), indent=2, ensure_ascii=False), args.out)
    return 0
