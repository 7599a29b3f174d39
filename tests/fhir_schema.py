"""The official FHIR R4 JSON schema, fetched at test time (``.ci/fetch-fhir-schema``), and a validator.

Why: ``fhir.resources`` accepted a ``RelatedArtifact.url`` holding two DOIs joined by a space; the
official schema (draft-06) does not. The schema is never committed: the script takes it from the npm
registry package into a cache. Without npm the tests that need it are skipped locally with the reason,
but fail under ``CI=true`` (CI must never silently skip them).

Each resource is checked against its own definition (``#/definitions/<type>``), walking Bundle entries
and contained resources, so an error names the resource and the element; the validators are built once.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "fetch-fhir-schema"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"FHIR R4 schema unavailable under CI: {reason}")
    pytest.skip(f"FHIR R4 schema unavailable: {reason}")


@lru_cache(maxsize=1)
def _fetch() -> tuple[Path | None, str]:
    try:
        done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{SCRIPT.name} could not run: {exc}"
    if done.returncode != 0:
        return None, done.stderr.strip() or f"{SCRIPT.name} exited {done.returncode}"
    return Path(done.stdout.strip().splitlines()[-1]), ""


def schema_path() -> Path:
    path, reason = _fetch()
    if path is None:
        _unavailable(reason)
    return path  # type: ignore[return-value]


class SchemaValidator:
    """Draft-06 validators for each resource type, compiled once from one schema document."""

    def __init__(self, path: Path) -> None:
        import jsonschema

        self.schema = json.loads(path.read_text(encoding="utf-8"))
        self.types = frozenset(self.schema["discriminator"]["mapping"])
        self._jsonschema = jsonschema
        self._by_type: dict[str, Any] = {}

    def _validator(self, rtype: str) -> Any:
        if rtype not in self._by_type:
            if rtype not in self.types:
                raise KeyError(rtype)
            sub = {"$ref": f"#/definitions/{rtype}", "definitions": self.schema["definitions"]}
            self._by_type[rtype] = self._jsonschema.Draft6Validator(sub)
        return self._by_type[rtype]

    def errors(self, resource: dict[str, Any], where: str = "") -> Iterator[str]:
        """Every schema error in ``resource`` and the resources inside it, each naming type/id and element."""
        rtype = resource.get("resourceType")
        name = f"{where}{rtype}/{resource.get('id', '?')}"
        if rtype not in self.types:
            yield f"{name}: unknown resourceType {rtype!r}"
            return
        inner: list[tuple[str, dict[str, Any]]] = []
        shallow = dict(resource)
        if rtype == "Bundle":
            shallow["entry"] = []
            for k, entry in enumerate(resource.get("entry", [])):
                shallow["entry"].append({key: v for key, v in entry.items() if key != "resource"})
                if "resource" in entry:
                    inner.append((f"{name}.entry[{k}] ", entry["resource"]))
            if not shallow["entry"]:
                del shallow["entry"]
        if resource.get("contained"):
            inner += [(f"{name}.contained ", c) for c in resource["contained"]]
            shallow.pop("contained")
        for error in self._validator(rtype).iter_errors(shallow):
            element = ".".join(str(p) for p in error.absolute_path)
            yield f"{name} {element}: {error.message[:300]}"
        for prefix, child in inner:
            yield from self.errors(child, prefix)


@lru_cache(maxsize=1)
def _validator_at(path: str) -> SchemaValidator:
    return SchemaValidator(Path(path))


def validator() -> SchemaValidator:
    """The shared validator (fetches the schema on first use; skip/fail as the module says)."""
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        _unavailable("the jsonschema package is not installed (pip install -e '.[test]')")
    return _validator_at(str(schema_path()))


def value_set_codes(url: str) -> set[tuple[str, str]]:
    """(system, code) of an R4 value set whose compose is ``is-a`` filters over an HL7 v3 code system.

    Read from the same release as the schema (valuesets.json, v3-codesystems.json); v3 hierarchies
    are both nested ``concept`` lists and ``child`` properties, so both are followed.
    """
    folder = schema_path().parent
    sets = json.loads((folder / "valuesets.json").read_text(encoding="utf-8"))
    [vs] = [e["resource"] for e in sets["entry"] if e["resource"].get("url") == url]
    systems = json.loads((folder / "v3-codesystems.json").read_text(encoding="utf-8"))
    out: set[tuple[str, str]] = set()
    for include in vs["compose"]["include"]:
        [cs] = [e["resource"] for e in systems["entry"] if e["resource"].get("url") == include["system"]]
        children: dict[str, set[str]] = {}

        def walk(concepts: list[dict[str, Any]], parent: str | None, children: dict[str, set[str]] = children) -> None:
            for c in concepts:
                kids = children.setdefault(c["code"], set())
                kids |= {p["valueCode"] for p in c.get("property", []) if p["code"] == "child"}
                if parent:
                    children.setdefault(parent, set()).add(c["code"])
                walk(c.get("concept", []), c["code"])

        walk(cs["concept"], None)
        for flt in include["filter"]:
            assert flt["op"] == "is-a", flt
            todo, seen = [flt["value"]], set()
            while todo:
                code = todo.pop()
                if code not in seen:
                    seen.add(code)
                    todo += children.get(code, ())
            out |= {(include["system"], c) for c in seen}
    return out


@lru_cache(maxsize=1)
def _checkable_profiles() -> dict[str, dict[str, Any]]:
    """Core R4 profiles whose every constraint is a cardinality (the 'shareable' knowledge profiles)."""
    bundle = json.loads((schema_path().parent / "profiles-others.json").read_text(encoding="utf-8"))
    out = {}
    for entry in bundle["entry"]:
        sd = entry["resource"]
        if sd.get("resourceType") != "StructureDefinition" or "/shareable" not in sd.get("url", ""):
            continue
        elements = sd["differential"]["element"][1:]
        if all(set(e) <= {"id", "path", "min", "max", "type", "mustSupport", "short", "definition", "comment",
                           "requirements", "isSummary", "alias", "mapping", "contentReference"} for e in elements):
            out[sd["url"]] = sd
    return out


def _values(node: Any, parts: list[str]) -> list[Any]:
    if not parts:
        return [node]
    items = node if isinstance(node, list) else [node]
    out = []
    for item in items:
        if isinstance(item, dict) and parts[0] in item:
            value = item[parts[0]]
            out += [v for x in (value if isinstance(value, list) else [value]) for v in _values(x, parts[1:])]
    return out


def profile_errors(resource: dict[str, Any]) -> list[str]:
    """Every way ``resource`` fails a profile it declares; a profile we cannot check is itself an error."""
    errors = []
    for url in resource.get("meta", {}).get("profile", []):
        sd = _checkable_profiles().get(url)
        if sd is None or sd["type"] != resource["resourceType"]:
            errors.append(f"{resource['resourceType']}/{resource.get('id')}: declares {url}, which is not verified here")
            continue
        for element in sd["differential"]["element"][1:]:
            parts = element["path"].split(".")[1:]
            parents = _values(resource, parts[:-1])
            for parent in parents:
                count = len(_values(parent, parts[-1:]))
                if count < element.get("min", 0):
                    errors.append(f"{resource['resourceType']}/{resource.get('id')}: {element['path']} is required by {url}")
                if element.get("max") == "1" and isinstance(parent.get(parts[-1]) if isinstance(parent, dict) else None, list):
                    errors.append(f"{resource['resourceType']}/{resource.get('id')}: {element['path']} max 1 in {url}")
    return errors
