"""Serving the knowledge graph: a SPARQL 1.1 endpoint and a recommendation API.

Modules: :mod:`.dataset` (what is served and pushed: one named graph per ontology module,
shape file and patient), :mod:`.sparql` (request checks, execution and result formats, run
inside worker processes), :mod:`.pool` (worker processes with a hard time limit),
:mod:`.app` (the FastAPI routes). Importing this package does not import FastAPI, so
``guidekg push`` works without the server extras.
"""
