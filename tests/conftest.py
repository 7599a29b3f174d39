"""Shared fixtures (one reasoner per engine per session, one set of random draws, one review of the
shipped guideline) and how the suite is spread over the machine's cores.

Parallel by default: with pytest-xdist installed (the ``test`` extra) and no ``-n`` given, the
run uses one worker per core (``-n logical --dist loadfile``), so ``python3 -m pytest -q`` and
``-m "not slow"`` need no flags. ``-n0`` or ``-p no:xdist`` runs in one process, as does
``--pdb``. Every test of a module goes to the same worker, so module fixtures are built once
and a module's tests run in file order; GROUPS puts several modules on one worker when they
share a session fixture, and HEAVY_FIRST starts the longest modules first.
(xdist_group/loadgroup is not used: pytest-xdist 3.8 renames node ids to group them, which
pytest 9.2 no longer allows, so the marks are silently ignored.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from guidekg.reasoning import get_reasoner

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HAS_JAVA = shutil.which("java") is not None

# Modules that cost most, started first so the long ones overlap instead of finishing last on
# one worker (longest-first packing). Measured with --durations; order only, no test depends on it.
HEAVY_FIRST = (
    "test_mutation.py",      # slow: every content mutant (~8 min)
    "test_equivalence.py",   # slow: 2,000 draws through HermiT (~6 min)
    "test_batch.py",         # slow: the pySHACL comparisons
    "test_spark.py",
    "test_review_triage.py",  # the full review of the shipped guideline (logic + coverage) ...
    "test_review_coverage.py",  # ... which this module shares (GROUPS)
    "test_review_explain.py",
    "test_reasoners.py",
    "test_security.py",
    "test_shapes.py",
    "test_mdt_page.py",
    "test_review_browser.py",
)

# Modules that share an expensive session fixture run on one worker (see `shipped_review`).
# Membership only: the group starts where its first module stands in HEAVY_FIRST.
GROUPS = {"test_review_triage.py": "shipped-review", "test_review_coverage.py": "shipped-review"}


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """One worker per core unless -n, -p no:xdist, --pdb or --collect-only says otherwise."""
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist"):
        return
    option = config.option
    if getattr(option, "numprocesses", None) is None and not option.usepdb and not option.collectonly:
        option.numprocesses = "logical"  # every CPU; "auto" counts physical cores when psutil is installed
    if option.numprocesses and getattr(option, "dist", "no") == "no":
        option.dist = "loadfile"


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: -p no:xdist has no such hook
def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile with GROUPS, in collection order (heavy first, not xdist's 'most tests first')."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModuleGroups(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return GROUPS.get(path.rsplit("/", 1)[-1], path)

    config.option.loadscopereorder = False
    return ModuleGroups(config, log)


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config, items):
    """Browser, HermiT and Virtuoso tests join the slow set: each starts Chromium, a JVM or a
    triple store (5-40 s), so the quick loop (`-m "not slow"`) leaves them to CI, which runs
    everything. Then the heavy modules first (a stable sort: file order within a module)."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("hermit") or item.get_closest_marker("virtuoso"):
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


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


@pytest.fixture(scope="session")
def shipped_review():
    """The shipped guideline reviewed with every check (logic and coverage included), as an author
    runs it: built once for test_review_triage and test_review_coverage (read-only)."""
    from guidekg.review import run_review

    return run_review(pictures=True)


def worker_count() -> int:
    """How many xdist workers share the machine (1 without xdist)."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
