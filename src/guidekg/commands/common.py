"""Argument helpers shared by subcommands."""

from __future__ import annotations

import sys
from pathlib import Path

from ..reasoning import reasoner_names


def add_reasoner(parser) -> None:
    parser.add_argument("--reasoner", choices=reasoner_names(), default="fast",
                        help="fast (default, exact for this ontology's OWL fragment) or hermit (reference, needs Java)")


def write_output(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
