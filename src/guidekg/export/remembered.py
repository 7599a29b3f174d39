"""What rendering derives from a knowledge part (its JSON, its content key), remembered per process.

A population repeats a few hundred distinct recommendation and evidence lists; deriving the
same text from one again for every patient cost most of the rendering time. A derived value is
remembered under a cheap key (the part's ids) beside a copy of the part, and reused only while
the part is equal to that copy: equal parts derive equally (knowledge holds str, int, bool,
None, lists and dicts, never a float equal to an int), and a part built from other knowledge,
or edited, is derived afresh. Used by :mod:`guidekg.export.lines` and :mod:`guidekg.export.compact`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


def remembered(cache: dict, key: Hashable, part: list[Any], derive: Callable[[list[Any]], str], limit: int) -> str:
    """``derive(part)``, from ``cache`` when ``part`` equals the copy kept under ``key``; a new
    key is kept while the cache holds fewer than ``limit`` entries."""
    cached = cache.get(key)
    if cached is not None and cached[0] == part:
        return cached[1]
    value = derive(part)
    if cached is None and len(cache) < limit:
        cache[key] = (list(part), value)
    return value
