"""The ``guidekg`` command: parses arguments and calls the library, nothing more.

Each subcommand lives in :mod:`guidekg.commands` as a module with ``add_parser`` and
``run``; exit codes are 0 (ok), 1 (findings: violations or contradictions), 2 (usage or
unreadable input).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .ingest import InputError
from .reasoning import ReasonerUnavailable

COMMANDS = ("recommend", "validate", "query", "review", "pathway", "serve", "push", "fhir_knowledge", "audit", "mutate")


def _wanted(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The command modules this invocation needs: only the named command's when the first
    argument names one (their imports are the start-up cost: pySHACL, FastAPI, networkx ...),
    else all of them (top-level help, usage errors, ``build_parser()`` without arguments)."""
    if not argv or argv[0].startswith("-"):
        return COMMANDS
    module = argv[0].replace("-", "_")
    return (module,) if module in COMMANDS else COMMANDS


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guidekg", description="Clinical guideline knowledge graph: rectal cancer with non-resectable bilobar liver metastases.")
    parser.add_argument("--version", action="version", version=f"guidekg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _wanted(argv):
        try:
            module = importlib.import_module(f"guidekg.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"guidekg.commands.{name}":
                continue  # a command whose module is not part of this build
            raise
        module.add_parser(sub).set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(argv)
    try:
        return int(args._run(args))
    except InputError as exc:
        print(f"guidekg: error: {exc}", file=sys.stderr)
        return 2
    except (ReasonerUnavailable, FileNotFoundError, ValueError) as exc:
        print(f"guidekg: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
