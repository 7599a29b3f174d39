"""The compiled knowledge cache: what every run derives from the content, built once, kept on disk.

A run needs the case-sheet vocabulary, the axioms the fast reasoner compiles, the compiled
SHACL checks (with the ontology triples their SPARQL reads) and the knowledge tables
(recommendations, evidence, alerts, plan-verdict tables). Deriving them parses every Turtle
file and a few dozen SPARQL queries: ~2-3 s, most of a single patient's wall time. Here they
are derived once, pickled to ``$GUIDEKG_CACHE`` (default ``$XDG_CACHE_HOME/guidekg`` or
``~/.cache/guidekg``), and read back in a few milliseconds.

Never stale: the file is named by a SHA-256 over every file of ``ontology/``, ``shapes/`` and
``queries/`` (names and bytes), the guidekg version, the Python version and the engine's own
source (``src/guidekg/**/*.py``, so a code change that alters what is derived rebuilds too).
Editing any of them changes the key; the old file is simply not looked at again (the least
recently used beyond :data:`KEEP` are removed).
``GUIDEKG_CACHE=off`` disables the cache (everything is derived in-process, as before).

Objects a lookup misses (a class no table holds) still answer: the unpickled
:class:`~guidekg.knowledge.Knowledge` loads its graph on demand. The pickle is as trusted as
the user's own cache directory (created 0700), like any other per-user compiled cache.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1
"""Bumped when the snapshot's layout changes (also covered by the source hash)."""

KEEP = 4
"""Snapshots kept per cache folder (most recently used first): two checkouts or content
versions sharing ``~/.cache/guidekg`` each keep theirs instead of evicting each other."""

_CONTENT = ("ontology", "shapes", "queries")


@dataclass
class Snapshot:
    key: str
    vocabulary: Any  # guidekg.vocabulary.Vocabulary
    axioms: Any  # guidekg.logic.Axioms of the logic modules
    validator: Any  # guidekg.fastvalidate.CompiledValidator | None
    ontology_nt: dict[Any, bytes]  # predicates -> N-Triples the compiled checks load
    knowledge: Any  # guidekg.knowledge.Knowledge, tables warmed, no graph


_state: dict[str, Any] = {"snapshot": None, "done": None, "building": False, "event": None}  # done: content folders read


def enabled() -> bool:
    return os.environ.get("GUIDEKG_CACHE", "").strip().lower() not in ("off", "0", "no", "false")


def cache_dir() -> Path:
    """``$GUIDEKG_CACHE``, else ``$XDG_CACHE_HOME/guidekg``, else ``~/.cache/guidekg``."""
    explicit = os.environ.get("GUIDEKG_CACHE", "").strip()
    if explicit and enabled():
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guidekg"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def content_key() -> str:
    """SHA-256 of the content folders, the engine source, the guidekg and Python versions."""
    from . import __version__, resources

    digest = hashlib.sha256(f"guidekg {__version__} format {FORMAT} python {sys.version}\n".encode())
    roots = [(kind, resources.data_dir(kind)) for kind in _CONTENT]
    roots.append(("engine", Path(__file__).resolve().parent))
    for kind, root in roots:
        for file in _files(root):
            if kind == "engine" and file.suffix != ".py":
                continue
            data = file.read_bytes()
            digest.update(f"{kind}/{file.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def cache_path(key: str | None = None) -> Path:
    return cache_dir() / f"knowledge-{key or content_key()}.pickle"


def snapshot() -> Snapshot | None:
    """The process's snapshot: read from disk, or built and stored; None when disabled, while
    it is being built, or while content is swapped in-process (:func:`guidekg.resources.overridden`,
    mutation testing: the snapshot is keyed by the files, so it would hide the swapped graphs);
    the builders then derive everything from the content."""
    from . import resources

    if _state["building"] or not enabled() or resources.overrides_active():
        return None

    dirs = tuple(str(resources.data_dir(kind)) for kind in _CONTENT)
    if _state["done"] != dirs:  # first call, or the content folders were pointed elsewhere
        _state["done"] = dirs
        key = content_key()
        path = cache_path(key)
        snap = _read(path, key)
        if snap is None:
            snap = build(key)
            _write(path, snap)
            _state["event"] = "built"
        else:
            _state["event"] = "hit"
            try:
                os.utime(path)  # most recently used: kept when older snapshots are pruned
            except OSError:
                pass
        _state["snapshot"] = snap
    return _state["snapshot"]


def last_event() -> str | None:
    """'hit' or 'built' for this process (tests and benchmarks report it)."""
    return _state["event"]


def _read(path: Path, key: str) -> Snapshot | None:
    try:
        with path.open("rb") as handle:
            snap = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None
    return snap if isinstance(snap, Snapshot) and snap.key == key else None


def _write(path: Path, snap: Snapshot) -> None:
    """Atomic (temp file + rename): concurrent builders each write a whole file, one wins."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".knowledge-", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(snap, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        others = sorted((p for p in path.parent.glob("knowledge-*.pickle") if p != path),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[KEEP - 1:]:
            old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only home: run uncached, say why once
        print(f"guidekg: note: knowledge cache not written ({exc}); set GUIDEKG_CACHE to a writable folder", file=sys.stderr)


def build(key: str) -> Snapshot:
    """Derive everything from the content (the slow path, once per content version)."""
    from . import resources
    from .fastvalidate import compile_validator
    from .knowledge import Knowledge
    from .logic import read_axioms
    from .oxstore import _ontology_ntriples
    from .vocabulary import vocabulary

    _state["building"] = True
    try:
        vocab = vocabulary()
        axioms = read_axioms(resources.shared_graph("ontology", *resources.LOGIC_MODULES))
        validator = compile_validator()
        nt: dict[Any, bytes] = {}
        if validator is not None and validator.sparql:
            predicates = validator._sparql_predicates
            nt[predicates] = _ontology_ntriples(predicates)
        kb = Knowledge()
        kb.warm()
        return Snapshot(key, vocab, axioms, validator, nt, kb)
    finally:
        _state["building"] = False
