"""Request and response models: what parses, what is rejected, and the examples are valid."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api import schemas
from api.schemas import (
    MAX_PROJECTS_PER_CALL,
    MAX_SNAPSHOTS_PER_PROJECT,
    PROJECT_EXAMPLE,
    SNAPSHOTS_EXAMPLE,
    ProjectIn,
    ScoreIn,
    SnapshotIn,
)


def _body(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "projects": [{"project": dict(PROJECT_EXAMPLE), "snapshots": list(SNAPSHOTS_EXAMPLE)}]
    }
    body.update(over)
    return body


def _documented() -> list[tuple[type[BaseModel], Any]]:
    out = []
    for obj in vars(schemas).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, BaseModel)
            and obj.__module__ == schemas.__name__
        ):
            extra = obj.model_config.get("json_schema_extra")
            if isinstance(extra, dict):
                out += [(obj, ex) for ex in extra.get("examples", [])]  # type: ignore[union-attr]
    return out


def test_the_documented_examples_parse() -> None:
    """It accepts the OpenAPI example of every model that has one."""
    documented = _documented()
    assert {m.__name__ for m, _ in documented} >= {"ScoreIn", "ScoreOut", "PortfolioRisksOut"}
    for model, example in documented:
        model.model_validate(example)


def test_defaults_explain_and_no_as_of() -> None:
    body = ScoreIn.model_validate(_body())
    assert body.explain is True and body.as_of is None
    assert body.projects[0].snapshots[0].as_of == date(2024, 6, 30)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"projects": []},
        {"projects": "P-1"},
        {"projects": [{"snapshots": []}]},
        {"projects": [{"project": {"project_id": ""}}]},
        {"projects": [{"project": {"project_id": "P"}, "snapshots": [{"percent_complete": 5}]}]},
        _body(explain="perhaps"),
        _body(as_of="not a date"),
        _body(as_of="9999-12-31"),
        _body(as_of="1066-10-14"),
        _body(unexpected=1),
    ],
)
def test_malformed_bodies_are_rejected(body: dict[str, object]) -> None:
    """It rejects missing and mistyped fields, empty lists, absurd dates and unknown keys."""
    with pytest.raises(ValidationError):
        ScoreIn.model_validate(body)


def test_misspelt_field_is_rejected() -> None:
    with pytest.raises(ValidationError) as err:
        SnapshotIn.model_validate({"as_of": "2024-01-31", "percent_compelte": 3})
    assert err.value.errors()[0]["loc"] == ("percent_compelte",)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "abc", [1]])
def test_non_finite_and_non_numbers_are_rejected(value: object) -> None:
    with pytest.raises(ValidationError):
        SnapshotIn.model_validate({"as_of": "2024-01-31", "earned_value": value})


def test_fractional_counts_are_rejected() -> None:
    with pytest.raises(ValidationError):
        SnapshotIn.model_validate({"as_of": "2024-01-31", "open_risks": 2.5})


def test_attributes_hold_scalars_only() -> None:
    ok = ProjectIn.model_validate({"project_id": "P", "attributes": {"team_size": 12}})
    assert ok.attributes == {"team_size": 12.0}
    with pytest.raises(ValidationError):
        ProjectIn.model_validate({"project_id": "P", "attributes": {"team": {"size": 1}}})


def test_limits_on_projects_and_snapshots() -> None:
    """It allows at most 1,000 projects per call and 500 reports per project."""
    many = [{"project": {"project_id": f"P{i}"}} for i in range(MAX_PROJECTS_PER_CALL + 1)]
    with pytest.raises(ValidationError, match="at most 1000"):
        ScoreIn.model_validate({"projects": many})
    snaps = [
        {"as_of": date.fromordinal(date(2020, 1, 1).toordinal() + i).isoformat()}
        for i in range(MAX_SNAPSHOTS_PER_PROJECT + 1)
    ]
    with pytest.raises(ValidationError, match="at most 500"):
        ScoreIn.model_validate({"projects": [{"project": {"project_id": "P"}, "snapshots": snaps}]})
    ScoreIn.model_validate(
        {"projects": [{"project": {"project_id": "P"}, "snapshots": snaps[:-1]}]}
    )
