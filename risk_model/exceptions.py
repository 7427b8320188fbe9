"""Domain errors, in one place; the API maps them to HTTP status codes."""

from __future__ import annotations

from dataclasses import dataclass


class PmoRiskError(Exception):
    """Base of every error the product raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in an input file: where it is and what is wrong.

    ``row`` is the row as a spreadsheet shows it: the header is row 1, the first data row is
    row 2 (for CSV this is the line number). ``None`` when the problem is about a whole file
    or column.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}" if self.row is not None else f" column {self.column}"
        return f"{where}: {self.message}"


class ValidationFailed(PmoRiskError):
    """Input rejected; carries every problem found. Nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        n = len(problems)
        head = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {n - 50} more" if n > 50 else ""
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} found; nothing was imported:\n{head}{more}"
        )


class UnknownProject(PmoRiskError):
    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        super().__init__(f"unknown project: {project_id!r}")


class ModelNotAvailable(PmoRiskError):
    """No model is registered / loaded for a target (API: 503)."""


class InsufficientData(PmoRiskError):
    """Too little data to do what was asked (e.g. train with no finished projects)."""


class SourceUnavailable(PmoRiskError):
    """A public data set could not be downloaded and there is no cached copy (issue 3)."""


class RegistryBusy(PmoRiskError):
    """Another run holds the registry's promotion lock for too long (issue 3, retrain)."""


class Forbidden(PmoRiskError):
    """The caller's key may not touch this (e.g. a portfolio outside its scope; API: 403)."""


class TooLarge(PmoRiskError):
    """An input over a configured size limit (API: 413)."""
