"""Shared fixtures: one reasoner instance per engine per session, one set of random draws."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guidekg.reasoning import get_reasoner

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HAS_JAVA = shutil.which("java") is not None


def pytest_collection_modifyitems(config, items):
    """Browser and HermiT tests join the slow set: each costs 5-40 s (a JVM or a Chromium start),
    so the quick loop (`-m "not slow"`) leaves them to CI, which runs everything."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("hermit"):
            item.add_marker(pytest.mark.slow)


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
