"""Renderers of assessment results: table, JSON, NDJSON, Turtle/JSON-LD with PROV-O, FHIR."""
