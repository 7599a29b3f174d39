"""One module per subcommand of the ``guidekg`` CLI (argument parsing only)."""
