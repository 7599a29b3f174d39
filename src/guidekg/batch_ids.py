"""Patient ids seen in a population run, kept small (split from :mod:`guidekg.batch`)."""

from __future__ import annotations

import hashlib
from array import array

from .model import SourceRef


class _Duplicates:
    """Patient ids seen so far, in ~32 bytes a patient, so a registry-sized run stays small.

    Every id has to be remembered to the end of the run (a duplicate may come last), so this
    is the one structure that grows with N. Ids are kept as 64-bit digests in an
    open-addressing table of two ``array('Q')`` (digest; where it was first seen, packed as
    file number and line), not as Python objects: a dict of digest -> place text took
    ~140 bytes a patient (136 MiB for 1,000,000). Two different ids share a digest with
    probability ~n^2/2^65 (3e-8 for a million); the patient would be reported, not dropped.
    """

    _EMPTY = 0
    _OTHER = 1 << 63  # place kept in ``_others`` (a FHIR resource, say), not packed

    def __init__(self) -> None:
        self._keys = array("Q", bytes(8 * 1024))
        self._places = array("Q", bytes(8 * 1024))
        self._count = 0
        self._files: dict[str, int] = {}
        self._file_names: list[str] = []
        self._others: list[str] = []

    def check(self, iri: str, source: SourceRef) -> str | None:
        """Where this id was first seen, or None (and remember it here)."""
        digest = int.from_bytes(hashlib.blake2b(iri.encode(), digest_size=8).digest(), "little") or 1
        keys, mask = self._keys, len(self._keys) - 1
        slot = digest & mask
        while keys[slot] != self._EMPTY:
            if keys[slot] == digest:
                return self._where(self._places[slot])
            slot = (slot + 1) & mask
        keys[slot] = digest
        self._places[slot] = self._pack(source)
        self._count += 1
        if 2 * self._count > len(keys):
            self._grow()
        return None

    def _pack(self, source: SourceRef) -> int:
        if source.resource is not None or (source.line is not None and source.line >= 1 << 40):
            self._others.append(str(source))
            return self._OTHER | (len(self._others) - 1)
        number = self._files.get(source.file)
        if number is None:
            number = self._files[source.file] = len(self._file_names)
            self._file_names.append(source.file)
        return (number << 40) | (source.line + 1 if source.line is not None else 0)

    def _where(self, place: int) -> str:
        if place & self._OTHER:
            return self._others[place & ~self._OTHER]
        line = (place & ((1 << 40) - 1)) - 1
        return str(SourceRef(self._file_names[place >> 40], line if line >= 0 else None))

    def _grow(self) -> None:
        old_keys, old_places = self._keys, self._places
        self._keys = keys = array("Q", bytes(16 * len(old_keys)))
        self._places = places = array("Q", bytes(16 * len(old_keys)))
        mask = len(keys) - 1
        for digest, place in zip(old_keys, old_places, strict=True):
            if digest:
                slot = digest & mask
                while keys[slot]:
                    slot = (slot + 1) & mask
                keys[slot], places[slot] = digest, place
