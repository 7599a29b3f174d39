"""The error raised for an input that cannot be read at all."""

from __future__ import annotations


class InputError(ValueError):
    """A whole input is unusable (missing, empty, malformed, unknown column): exit code 2."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file, self.line, self.problem = file, line, message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")
