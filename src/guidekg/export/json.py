"""JSON (ARCHITECTURE §5.1) and NDJSON renderings."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..recommend import PatientResult


def render_json(results: Sequence[PatientResult], explain: bool = False) -> str:
    return json.dumps([r.as_json(explain) for r in results], indent=2, ensure_ascii=False, default=str)


def render_ndjson_line(result: PatientResult, explain: bool = False) -> str:
    return json.dumps(result.as_json(explain), ensure_ascii=False, default=str, separators=(",", ":"))
