"""Shared fixtures: one reasoner instance per engine per session, one set of random draws."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guidekg.reasoning import get_reasoner

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HAS_JAVA = shutil.which("java") is not None


@pytest.fixture(scope="session")
def fast():
    return get_reasoner("fast")


@pytest.fixture(scope="session")
def hermit():
    if not HAS_JAVA:
        pytest.skip("Java is not installed: HermiT cannot run")
    return get_reasoner("hermit")


@pytest.fixture(scope="session")
def drawn_patients():
    """The derandomized hypothesis draws of test_equivalence, drawn once per session and shared
    by the tests that compare engines on them (read-only: never modify a record)."""
    from test_equivalence import COUNT, _draw_patients

    return _draw_patients(COUNT)
