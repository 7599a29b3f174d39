"""Reasoners behind one small interface, picked by name (``hermit`` or ``fast``)."""

from __future__ import annotations

from .base import Reasoner, ReasonerUnavailable, get_reasoner, reasoner_names

__all__ = ["Reasoner", "ReasonerUnavailable", "get_reasoner", "reasoner_names"]
