"""``guidekg recommend INPUT...``: assess patients and print the recommendations."""

from __future__ import annotations

import sys

from .common import add_reasoner, write_output

FORMATS = ("table", "json", "ndjson", "parquet", "turtle", "jsonld", "fhir")


def add_parser(sub):
    p = sub.add_parser("recommend", help="assess patients (CSV, Parquet, Turtle/JSON-LD, FHIR) and print recommendations")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="CSV or Parquet case sheet, RDF file, FHIR JSON/NDJSON or Bulk Data folder")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="ndjson streams one JSON object a line with bounded memory (for populations)")
    add_reasoner(p)
    p.add_argument("--explain", action="store_true", help="say which facts put the patient in each class, and each recommendation's evidence trail")
    p.add_argument("--all", action="store_true", dest="show_all",
                   help="table: also list the general principles that apply to every patient (collapsed to one line by default)")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes for --format ndjson (default 1)")
    p.add_argument("--chunk-size", type=int, default=2000, metavar="N", help="patients per chunk for --format ndjson")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="spark: run the ndjson/parquet job on Spark executors (compiled engine; pip install 'guidekg[spark]')")
    p.add_argument("--master", metavar="URL", help="Spark master (default local[*]); with --engine spark")
    p.add_argument("--compact", action="store_true",
                   help="ndjson: one small row per patient (ids, verdicts), texts and evidence written once to OUT.dict.json "
                        "(parquet is always compact; needs --out)")
    return p


def engine_mapper(args):
    """None for the local engine; a Spark chunk mapper for --engine spark (recommend and audit)."""
    if args.engine != "spark":
        if args.master:
            raise ValueError("--master applies to --engine spark")
        return None
    if args.reasoner != "fast":
        raise ValueError("--engine spark runs the compiled engine only (no JVM reasoner on the executors): use --reasoner fast")
    try:
        from ..spark import mapper, session
    except ModuleNotFoundError as exc:
        raise ValueError(str(exc)) from None
    return mapper(session(args.master))


def _run_compact(args) -> int:
    """Compact NDJSON or Parquet rows to --out, the dictionary beside them (OUT.dict.json)."""
    from ..batch import run_batch
    from ..export.compact import dictionary_path, new_dictionary, write_dictionary
    from ..knowledge import knowledge

    if not args.out:
        raise ValueError(f"--format {args.format}{' --compact' if args.compact else ''} writes two files: give --out PATH")
    progress = sys.stderr if sys.stderr.isatty() else None
    dictionary = new_dictionary()
    options = dict(reasoner=args.reasoner, explain=args.explain, workers=args.workers, chunk_size=args.chunk_size,
                   progress=progress, dictionary=dictionary, mapper=engine_mapper(args))
    if args.format == "parquet":
        try:
            from ..export.parquet import ParquetSink
        except ModuleNotFoundError as exc:
            raise ValueError(str(exc)) from None
        sink = ParquetSink(args.out)
        try:
            summary = run_batch(args.inputs, sink, **options)
        finally:
            sink.close()
    else:
        with open(args.out, "w", encoding="utf-8") as handle:
            summary = run_batch(args.inputs, handle, **options)
    write_dictionary(dictionary_path(args.out), dictionary, knowledge().version)
    sys.stderr.write(summary.line() + "\n")
    return summary.exit_code


def _run_ndjson(args) -> int:
    from ..batch import run_batch

    if args.compact:
        return _run_compact(args)
    progress = sys.stderr if sys.stderr.isatty() else None
    options = dict(reasoner=args.reasoner, explain=args.explain, workers=args.workers, chunk_size=args.chunk_size,
                   progress=progress, mapper=engine_mapper(args))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            summary = run_batch(args.inputs, handle, **options)
    else:
        summary = run_batch(args.inputs, sys.stdout, **options)
    sys.stderr.write(summary.line() + "\n")
    return summary.exit_code


def run(args) -> int:
    if args.format == "ndjson":
        return _run_ndjson(args)
    if args.format == "parquet":
        return _run_compact(args)
    if args.engine != "local" or args.master:
        raise ValueError("--engine spark and --master apply to --format ndjson or parquet")
    if args.compact:
        raise ValueError("--compact applies to --format ndjson (and parquet, which is always compact)")
    from ..recommend import exit_code, recommend

    results = recommend(args.inputs, reasoner=args.reasoner, explain=args.explain)
    if args.format == "json":
        from ..export.json import render_json

        text = render_json(results, explain=args.explain)
    elif args.format in ("turtle", "jsonld"):
        from ..export.rdf import render_rdf

        text = render_rdf(results, args.reasoner, "turtle" if args.format == "turtle" else "json-ld")
    elif args.format == "fhir":
        from ..export.fhir import render_fhir

        text = render_fhir(results)
    else:
        from ..export.table import render_table

        text = render_table(results, show_all=args.show_all)
    write_output(text, args.out)
    return exit_code(results)
