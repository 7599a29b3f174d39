"""The compiled knowledge cache (guidekg.kcache): built once, keyed by content, never stale.

Regression for issue 16 ("one patient through the CLI takes 2.6 s, mostly loading the
ontology and shapes"): the CLI now reads a pickled snapshot keyed by the content hash. These
tests run the real CLI in subprocesses on a copy of the project, so editing the copy's
ontology proves the cache is rebuilt and the answer follows the edit; no timing is asserted
(the machine is shared), the import test pins what start-up must not load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ONE = "EX01-left-ras-wt"


def _copy_project(tmp: Path) -> Path:
    project = tmp / "project"
    for kind in ("ontology", "shapes", "queries", "examples"):
        shutil.copytree(ROOT / kind, project / kind)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return project


def _one_patient(tmp: Path) -> Path:
    lines = (ROOT / "examples" / "patients.csv").read_text(encoding="utf-8").splitlines()
    row = next(line for line in lines[1:] if line.startswith(ONE + ","))
    path = tmp / "one.csv"
    path.write_text(lines[0] + "\n" + row + "\n", encoding="utf-8")
    return path


def _run(project: Path, cache: Path | str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(project / "src"), GUIDEKG_CACHE=str(cache))
    return subprocess.run([sys.executable, "-m", "guidekg.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=project)


def _pickles(cache: Path) -> list[Path]:
    return sorted(cache.glob("knowledge-*.pickle"))


def test_cache_is_built_once_reused_and_rebuilt_when_the_content_changes(tmp_path):
    project, cache, one = _copy_project(tmp_path), tmp_path / "cache", _one_patient(tmp_path)
    first = _run(project, cache, "recommend", str(one), "--format", "json")
    assert first.returncode in (0, 1), first.stderr
    [built] = _pickles(cache)
    inode = built.stat().st_ino  # a rebuild writes a new file (temp + rename): a new inode

    again = _run(project, cache, "recommend", str(one), "--format", "json")
    assert again.stdout == first.stdout
    assert _pickles(cache) == [built] and built.stat().st_ino == inode  # read, not rebuilt

    label = json.loads(first.stdout)[0]["recommendations"][0]["label"]
    opening = label.split(" only when")[0]
    edited = False
    for ttl in (project / "ontology").glob("*.ttl"):
        text = ttl.read_text(encoding="utf-8")
        if opening in text:
            ttl.write_text(text.replace(opening, "EDITED " + opening), encoding="utf-8")
            edited = True
    assert edited, f"the recommendation text {opening!r} was not found in the copied ontology"

    changed = _run(project, cache, "recommend", str(one), "--format", "json")
    assert changed.returncode in (0, 1), changed.stderr
    rebuilt = [p for p in _pickles(cache) if p != built]
    assert len(rebuilt) == 1 and built.stat().st_ino == inode  # a new key; the old snapshot kept, not rewritten
    labels = [r["label"] for r in json.loads(changed.stdout)[0]["recommendations"]]
    assert any(text.startswith("EDITED " + opening) for text in labels)


def test_cached_answers_equal_uncached_answers_for_every_example(tmp_path):
    examples = str(ROOT / "examples" / "patients.csv")
    cache = tmp_path / "cache"
    cold = _run(ROOT, "off", "recommend", examples, "--format", "json", "--explain")
    build = _run(ROOT, cache, "recommend", examples, "--format", "json", "--explain")
    warm = _run(ROOT, cache, "recommend", examples, "--format", "json", "--explain")
    assert cold.stdout and json.loads(cold.stdout) == json.loads(build.stdout) == json.loads(warm.stdout)
    assert not list(tmp_path.glob("off*")) and len(_pickles(cache)) == 1


@pytest.mark.parametrize("which", ["one", "every example"])
def test_single_patient_start_up_imports_no_heavy_library(tmp_path, which):
    """pySHACL, owlready2, FastAPI, networkx and rdflib's SPARQL parser are not imported for
    one patient once the cache exists (they were ~1 s of the 2.6 s start-up). Every example
    too: a plan entry judged by a safety shape cites the shape's evidence, which the snapshot
    did not hold, so such a patient parsed the ontology and ran SPARQL (~0.6 s) in its run."""
    one = _one_patient(tmp_path) if which == "one" else ROOT / "examples" / "patients.csv"
    cache = tmp_path / "cache"
    assert _run(ROOT, cache, "recommend", str(one), "--format", "json").returncode in (0, 1)
    probe = ("import sys; from guidekg.cli import main; main(['recommend', sys.argv[1], '--format', 'json']);"
             "heavy = ('pyshacl', 'owlready2', 'fastapi', 'networkx', 'rdflib.plugins.sparql', 'pyarrow', 'pyspark');"
             "print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), GUIDEKG_CACHE=str(cache))
    done = subprocess.run([sys.executable, "-c", "import json;" + probe, str(one)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_least_recently_used_snapshots_beyond_four_are_pruned(tmp_path, monkeypatch):
    from guidekg import kcache

    cache = tmp_path / "cache"
    cache.mkdir()
    for n in range(6):
        old = cache / f"knowledge-old{n}.pickle"
        old.write_bytes(b"x")
        os.utime(old, (1_000_000 + n, 1_000_000 + n))
    monkeypatch.setenv("GUIDEKG_CACHE", str(cache))
    kcache._write(cache / "knowledge-new.pickle", kcache.Snapshot("new", None, None, None, {}, None))
    assert sorted(p.name for p in _pickles(cache)) == ["knowledge-new.pickle", "knowledge-old3.pickle",
                                                       "knowledge-old4.pickle", "knowledge-old5.pickle"]


def test_cache_can_be_turned_off(tmp_path):
    one = _one_patient(tmp_path)
    done = _run(ROOT, "off", "recommend", str(one), "--format", "json")
    assert done.returncode in (0, 1) and json.loads(done.stdout)[0]["patient"] == ONE
    assert not (ROOT / "off").exists()


def test_content_swapped_in_process_is_not_hidden_by_the_snapshot(tmp_path, monkeypatch):
    """Regression (reconcile): with the snapshot on, content swapped in-process (mutation testing's
    resources.overridden) was ignored: compile_validator() returned the snapshot's checks of the
    files on disk, so every shape mutant 'survived'. Inside an override the content is derived."""
    from rdflib import RDF, Graph

    from guidekg import fastvalidate, kcache, resources
    from guidekg.mutation import content
    from guidekg.mutation.expectations import record_from_facts
    from guidekg.namespaces import GK

    monkeypatch.setenv("GUIDEKG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(kcache, "_state", {"snapshot": None, "done": None, "building": False, "event": None})
    stent = record_from_facts("stent", {"primarySite": "Rectum", "rectalLevel": "LowRectum", "liverMetastasisExtent": "Bilobar",
                                        "resectability": "NonResectable", "primarySymptomatic": True, "primarySymptom": "Obstruction",
                                        "plannedAction": "ColorectalStent"})

    def alerts() -> set[str]:
        return {f.alert for f in fastvalidate.compile_validator().validate([stent])[stent.iri] if f.alert}

    try:
        content.reset()
        assert kcache.snapshot() is not None  # the cache is on
        assert str(GK.Alert_StentLowRectum) in alerts()
        safety = Graph()
        safety += resources.shared_graph("shapes", "safety")
        for triple in list(safety.triples((GK.Shape_StentLowRectum, None, None))):
            safety.remove(triple)
        assert (GK.Shape_StentLowRectum, RDF.type, None) not in safety
        with content.using({("shapes", "safety"): safety}):
            assert str(GK.Alert_StentLowRectum) not in alerts()
        assert str(GK.Alert_StentLowRectum) in alerts()
    finally:
        content.reset()
