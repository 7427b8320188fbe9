"""Domain errors to HTTP: one place, so routes never build error responses by hand.

``ValidationFailed`` -> 422 with every problem; ``UnknownProject`` / ``UnknownKey`` -> 404;
``Forbidden`` -> 403; ``TooLarge`` -> 413; ``ModelNotAvailable`` -> 503; ``InsufficientData``
-> 422; any other ``PmoRiskError`` -> 400. Request bodies that do not parse are FastAPI's own
422 (field-level ``detail`` list).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from risk_model.exceptions import (
    Forbidden,
    InsufficientData,
    ModelNotAvailable,
    PmoRiskError,
    Problem,
    TooLarge,
    UnknownProject,
    ValidationFailed,
)
from risk_model.keys import UnknownKey
from risk_model.risk_register import UnknownRegisterItem

#: Domain error class -> HTTP status, most specific first.
STATUS_OF: tuple[tuple[type[PmoRiskError], int], ...] = (
    (ValidationFailed, 422),
    (Forbidden, 403),
    (TooLarge, 413),
    (UnknownProject, 404),
    (UnknownKey, 404),
    (UnknownRegisterItem, 404),
    (ModelNotAvailable, 503),
    (InsufficientData, 422),
    (PmoRiskError, 400),
)


def status_for(exc: PmoRiskError) -> int:
    """The HTTP status code a domain error maps to."""
    for cls, status in STATUS_OF:
        if isinstance(exc, cls):
            return status
    return 400  # pragma: no cover - PmoRiskError is the last entry


def problem_dict(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "row": problem.row,
        "column": problem.column,
        "message": problem.message,
        "value": problem.value,
    }


def error_body(exc: PmoRiskError) -> dict[str, Any]:
    """The JSON body of a domain error: ``detail`` and, for validation, every problem."""
    if isinstance(exc, ValidationFailed):
        n = len(exc.problems)
        return {
            "detail": f"{n} problem{'s' if n != 1 else ''} found; nothing was changed",
            "problems": [problem_dict(p) for p in exc.problems],
        }
    return {"detail": str(exc)}


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PmoRiskError)
    return JSONResponse(status_code=status_for(exc), content=error_body(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Register the domain error handlers on an app."""
    app.add_exception_handler(PmoRiskError, _domain_error_handler)


#: OpenAPI ``responses`` entries for the errors a route can return.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "Missing, invalid or revoked API key",
        "content": {"application/json": {"example": {"detail": "invalid or revoked API key"}}},
    },
    403: {
        "description": "The key's role is too low, or the data is outside its portfolios",
        "content": {
            "application/json": {
                "example": {"detail": "this needs the analyst role; the key 'a1b2c3' is viewer"}
            }
        },
    },
    413: {
        "description": "Body or uploaded file over the size limit",
        "content": {
            "application/json": {"example": {"detail": "body too large: at most 10485760 bytes"}}
        },
    },
    404: {
        "description": "Unknown project",
        "content": {"application/json": {"example": {"detail": "unknown project: 'P-404'"}}},
    },
    422: {
        "description": "Input rejected: every problem with its file, row and column",
        "content": {
            "application/json": {
                "example": {
                    "detail": "1 problem found; nothing was changed",
                    "problems": [
                        {
                            "file": "body.projects[0].snapshots",
                            "row": 2,
                            "column": "percent_complete",
                            "message": "must be between 0 and 100",
                            "value": "140",
                        }
                    ],
                }
            }
        },
    },
    503: {
        "description": "No champion model loaded for a target",
        "content": {
            "application/json": {"example": {"detail": "no champion model loaded for: cost"}}
        },
    },
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The subset of ``ERROR_RESPONSES`` for a route's ``responses=`` argument."""
    return {c: ERROR_RESPONSES[c] for c in codes}
