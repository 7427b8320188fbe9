"""Request (``...In``) and response (``...Out``) models of the HTTP API, with OpenAPI examples.

Inputs forbid unknown fields (a misspelt column is a 422, not silently ignored), reject NaN and
infinity, and bound dates to 1900-2200 so nothing absurd reaches pandas. Outputs never carry
NaN: a missing number is ``null``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

Target = Literal["schedule", "cost", "forward"]
MAX_PROJECTS_PER_CALL = 1000
MAX_SNAPSHOTS_PER_PROJECT = 500
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2200, 12, 31)
#: The same bounds in the OpenAPI spec (years 1900-2200), so generated clients stay inside.
DATE_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-[0-9]{2}-[0-9]{2}$"


def _examples(*examples: Any) -> JsonDict:
    """``json_schema_extra`` holding OpenAPI examples."""
    return cast(JsonDict, {"examples": list(examples)})


def _date_in_range(v: date) -> date:
    if not (MIN_DATE <= v <= MAX_DATE):
        raise ValueError(f"date must be between {MIN_DATE} and {MAX_DATE}")
    return v


Day = Annotated[
    date,
    AfterValidator(_date_in_range),
    Field(json_schema_extra={"pattern": DATE_PATTERN}),
]
Text = Annotated[str, Field(max_length=500)]
Money = Annotated[float, Field(ge=-1e15, le=1e15)]

_IN = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

# -- examples ---------------------------------------------------------------------------------
PROJECT_EXAMPLE: dict[str, Any] = {
    "project_id": "P-0042",
    "name": "Riverside bridge refurbishment",
    "portfolio": "Infrastructure",
    "category": "Bridges",
    "start_date": "2024-01-08",
    "baseline_finish": "2025-06-30",
    "baseline_budget": 12500000,
    "currency": "EUR",
    "status": "active",
}
SNAPSHOTS_EXAMPLE: list[dict[str, Any]] = [
    {
        "as_of": "2024-06-30",
        "phase": "design",
        "percent_complete": 22,
        "planned_value": 3100000,
        "earned_value": 2600000,
        "actual_cost": 3000000,
        "forecast_finish": "2025-08-31",
        "forecast_cost": 13900000,
        "budget": 12500000,
        "rag": "amber",
        "open_risks": 14,
        "open_issues": 5,
        "change_requests": 3,
    },
    {
        "as_of": "2024-09-30",
        "phase": "build",
        "percent_complete": 35,
        "planned_value": 5200000,
        "earned_value": 4100000,
        "actual_cost": 5000000,
        "forecast_finish": "2025-10-31",
        "forecast_cost": 14600000,
        "budget": 12500000,
        "rag": "red",
        "open_risks": 17,
        "open_issues": 9,
        "change_requests": 5,
    },
]
DRIVER_EXAMPLE: dict[str, Any] = {
    "feature": "spi_t",
    "value": 0.71,
    "contribution": 0.84,
    "points": 12.5,
    "text": "Schedule performance (SPI(t)) is 0.71: earned schedule lags plan",
}
TARGET_SCORE_EXAMPLE: dict[str, Any] = {
    "probability": 0.78,
    "band": "critical",
    "drivers": [DRIVER_EXAMPLE],
    "reason": None,
    "model_version": "3",
}


# -- inputs -----------------------------------------------------------------------------------
class ProjectIn(BaseModel):
    """A project's static fields (outcome fields are accepted but never used to score)."""

    model_config = ConfigDict(**_IN, json_schema_extra=_examples(PROJECT_EXAMPLE))

    project_id: Annotated[str, Field(min_length=1, max_length=200)]
    name: Text | None = None
    portfolio: Text | None = None
    category: Text | None = None
    start_date: Day | None = None
    baseline_finish: Day | None = None
    baseline_budget: Money | None = None
    currency: Annotated[str, Field(max_length=10)] | None = None
    actual_finish: Day | None = None
    actual_cost: Money | None = None
    status: Annotated[str, Field(max_length=20)] | None = None
    attributes: Annotated[
        dict[Annotated[str, Field(min_length=1, max_length=100)], float | Text | None],
        Field(max_length=50, description="Extra project attributes (numeric ones are features)."),
    ] = {}


class SnapshotIn(BaseModel):
    """One status report. ``project_id`` may be omitted (it is the enclosing project's)."""

    model_config = ConfigDict(**_IN, json_schema_extra=_examples(SNAPSHOTS_EXAMPLE[0]))

    project_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    as_of: Day
    phase: Text | None = None
    percent_complete: float | None = None
    planned_value: Money | None = None
    earned_value: Money | None = None
    actual_cost: Money | None = None
    forecast_finish: Day | None = None
    forecast_cost: Money | None = None
    budget: Money | None = None
    rag: Annotated[str, Field(max_length=20)] | None = None
    open_risks: Annotated[int, Field(le=10**9)] | None = None
    open_issues: Annotated[int, Field(le=10**9)] | None = None
    change_requests: Annotated[int, Field(le=10**9)] | None = None


class ProjectHistoryIn(BaseModel):
    """A project and its status reports, in any order."""

    model_config = _IN

    project: ProjectIn
    snapshots: Annotated[list[SnapshotIn], Field(max_length=MAX_SNAPSHOTS_PER_PROJECT)] = []


class ScoreIn(BaseModel):
    """Projects to score, statelessly: nothing is stored."""

    model_config = ConfigDict(
        **_IN,
        json_schema_extra=_examples(
            {
                "projects": [{"project": PROJECT_EXAMPLE, "snapshots": SNAPSHOTS_EXAMPLE}],
                "explain": True,
                "as_of": None,
            }
        ),
    )

    projects: Annotated[
        list[ProjectHistoryIn],
        Field(min_length=1, max_length=MAX_PROJECTS_PER_CALL),
    ]
    explain: bool = Field(True, description="Include the top drivers of each score.")
    as_of: Day | None = Field(
        None, description="Score as of this date: later reports are ignored. Default: latest."
    )


# -- outputs ----------------------------------------------------------------------------------
class DriverOut(BaseModel):
    """One feature pushing a score up (or down), in words."""

    model_config = ConfigDict(json_schema_extra=_examples(DRIVER_EXAMPLE))

    feature: str
    value: float | str | None = Field(description="The feature's value at the report.")
    contribution: float | None = Field(description="Contribution to the model margin (log-odds).")
    points: float | None = Field(description="Approximate effect in probability points.")
    text: str


class TargetScoreOut(BaseModel):
    """One target's score; ``probability`` is null and ``reason`` says why when unscorable."""

    model_config = ConfigDict(json_schema_extra=_examples(TARGET_SCORE_EXAMPLE))

    probability: float | None
    band: str | None
    drivers: list[DriverOut] = []
    reason: str | None = None
    model_version: str | None = None


class ProjectScoreOut(BaseModel):
    project_id: str
    as_of: date | None = Field(description="Date of the latest report used.")
    scores: dict[Target, TargetScoreOut]


class ScoreOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=_examples(
            {
                "results": [
                    {
                        "project_id": "P-0042",
                        "as_of": "2024-09-30",
                        "scores": {
                            "schedule": TARGET_SCORE_EXAMPLE,
                            "cost": {**TARGET_SCORE_EXAMPLE, "probability": 0.64},
                        },
                    }
                ],
                "model_versions": {"schedule": "3", "cost": "2"},
            }
        )
    )

    results: list[ProjectScoreOut]
    model_versions: dict[Target, str]


class PortfolioItemOut(BaseModel):
    rank: int
    project_id: str
    name: str | None
    portfolio: str | None
    category: str | None
    as_of: date | None
    probability: float | None = Field(description="The ranked target's probability.")
    band: str | None = Field(description="The ranked target's band.")
    previous_probability: float | None = Field(
        default=None, description="The ranked target's probability at the previous report."
    )
    scores: dict[Target, TargetScoreOut]


class PortfolioRisksOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=_examples(
            {
                "target": "schedule",
                "revision": 12,
                "model_versions": {"schedule": "3", "cost": "2"},
                "total": 148,
                "items": [
                    {
                        "rank": 1,
                        "project_id": "P-0042",
                        "name": "Riverside bridge refurbishment",
                        "portfolio": "Infrastructure",
                        "category": "Bridges",
                        "as_of": "2024-09-30",
                        "probability": 0.78,
                        "band": "critical",
                        "scores": {
                            "schedule": TARGET_SCORE_EXAMPLE,
                            "cost": {**TARGET_SCORE_EXAMPLE, "probability": 0.64, "band": "high"},
                        },
                    }
                ],
            }
        )
    )

    target: Target
    revision: int = Field(description="Store revision the scores were computed at.")
    model_versions: dict[Target, str]
    total: int = Field(description="Active projects matching the filters (before limit).")
    items: list[PortfolioItemOut]


class ProjectOut(BaseModel):
    project_id: str
    name: str | None = None
    portfolio: str | None = None
    category: str | None = None
    start_date: date | None = None
    baseline_finish: date | None = None
    baseline_budget: float | None = None
    currency: str | None = None
    actual_finish: date | None = None
    actual_cost: float | None = None
    status: str | None = None
    attributes: dict[str, float | str | None] = {}


class SnapshotOut(BaseModel):
    as_of: date
    phase: str | None = None
    percent_complete: float | None = None
    planned_value: float | None = None
    earned_value: float | None = None
    actual_cost: float | None = None
    forecast_finish: date | None = None
    forecast_cost: float | None = None
    budget: float | None = None
    rag: str | None = None
    open_risks: float | None = None
    open_issues: float | None = None
    change_requests: float | None = None


class SignalPointOut(BaseModel):
    """The key signals at one report, for the charts."""

    as_of: date
    spi: float | None
    cpi: float | None
    spi_t: float | None
    forecast_slip: float | None
    forecast_cost_growth: float | None


class RiskPointOut(BaseModel):
    """The model's probability at one past report (what it would have said then)."""

    as_of: date
    probabilities: dict[Target, float | None]
    bands: dict[Target, str | None]


class ContributionOut(BaseModel):
    feature: str
    value: float | str | None
    contribution: float


class OverrunRangeOut(BaseModel):
    """P10 / P50 / P90 of the overrun (issue 3 section 4): as a ratio, and as finish dates
    (schedule) or costs at completion (cost) from the project's baseline."""

    p10: float = Field(description="Ratio: slip share of planned duration, or cost growth share.")
    p50: float
    p90: float
    finish_p10: date | None = None
    finish_p50: date | None = None
    finish_p90: date | None = None
    cost_p10: float | None = None
    cost_p50: float | None = None
    cost_p90: float | None = None


class TargetExplanationOut(TargetScoreOut):
    """A score with its full explanation: every feature's contribution and the base value."""

    base_value: float | None = None
    contributions: list[ContributionOut] = Field(
        default=[], description="Every feature, largest absolute contribution first."
    )
    overrun: OverrunRangeOut | None = Field(
        default=None,
        description="Predicted overrun size, P10/P50/P90 (outcome targets with a range model).",
    )


class LatestOut(BaseModel):
    as_of: date | None
    scores: dict[Target, TargetExplanationOut]


class ScheduleCheckOut(BaseModel):
    """One DCMA 14-point check of the latest schedule update, in words."""

    number: int
    title: str
    meaning: str
    value: float | None
    value_text: str = Field(description="The measured value as the check states it.")
    threshold: str = Field(description="The DCMA guideline it is judged against.")
    result: Literal["pass", "fail", "not computed"]


class ScheduleQualityOut(BaseModel):
    """The DCMA findings of the project's latest report that came from a schedule file."""

    as_of: date
    passed: int
    computed: int
    failed: list[int] = Field(description="Numbers of the checks that failed.")
    checks: list[ScheduleCheckOut]


class ProjectDetailOut(BaseModel):
    project: ProjectOut
    snapshots: list[SnapshotOut]
    signals: list[SignalPointOut]
    risk_history: list[RiskPointOut]
    latest: LatestOut
    schedule_quality: ScheduleQualityOut | None = Field(
        default=None,
        description="DCMA findings of the latest schedule update (None: no report of this "
        "project came from a schedule file).",
    )


class ModelOut(BaseModel):
    target: Target
    name: str
    version: str
    alias: str
    run_id: str
    trained_at: datetime
    metrics: dict[str, float]
    feature_count: int
    # issue 3 section 5: from the version's model card and its latest drift measurement
    limitations: list[str] = Field(
        default_factory=list, description="Known limitations from the model card."
    )
    drift_flagged: list[str] = Field(
        default_factory=list, description="Features whose PSI is over the drift threshold."
    )
    drift_source: Literal["retrain", "training", "none"] = Field(
        default="none",
        description="Where the drift flags come from (latest retrain check or training time).",
    )
    drift_checked_at: str | None = None


class DriftFeatureOut(BaseModel):
    feature: str
    psi: float | None
    flagged: bool


class ModelCardOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=_examples(
            {
                "target": "schedule",
                "version": "3",
                "run_id": "0f3c9a",
                "limitations": ["4 categories have fewer than 20 training projects: Rail (6)"],
                "drift_source": "retrain",
                "drift_checked_at": "2025-02-01T02:00:00+00:00",
                "drift_flagged": ["planned_duration_days"],
                "drift": [{"feature": "planned_duration_days", "psi": 0.31, "flagged": True}],
                "card": {"target": "schedule", "kind": "outcome"},
                "markdown": "# Model card: schedule\n...",
            }
        )
    )

    target: Target
    version: str
    run_id: str
    limitations: list[str]
    drift_source: Literal["retrain", "training", "none"]
    drift_checked_at: str | None
    drift_flagged: list[str]
    drift: list[DriftFeatureOut]
    card: dict[str, Any] | None = Field(description="The model card (JSON) logged with the run.")
    markdown: str | None = Field(description="The model card as Markdown.")


class ReloadStatusOut(BaseModel):
    """How the service follows the registry's ``champion`` alias (issue 6)."""

    poll_seconds: float = Field(description="Interval of the registry polls (0: never).")
    checks: int
    swaps: int
    failures: int
    last_check_at: datetime | None = None
    last_swap_at: datetime | None = None
    last_error: str | None = Field(
        default=None, description="Why the last check kept the old models (null: it did not)."
    )
    last_error_at: datetime | None = None
    rejected: dict[str, str] = Field(
        default={}, description="Per target (or `registry`): what was refused in the last check."
    )


class ReloadOut(BaseModel):
    """What a reload did: the targets swapped in and what was refused."""

    swapped: dict[str, str] = Field(description="Target -> the version now serving.")
    errors: dict[str, str] = Field(description="Target (or `registry`) -> why it was refused.")
    models: ModelsOut


class ModelsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=_examples(
            {
                "models": [
                    {
                        "target": "schedule",
                        "name": "pmo-risk-schedule",
                        "version": "3",
                        "alias": "champion",
                        "run_id": "0f3c9a",
                        "trained_at": "2025-01-31T10:00:00Z",
                        "metrics": {"test_roc_auc": 0.83, "test_brier": 0.14},
                        "feature_count": 24,
                    }
                ],
                "missing": {"cost": "no champion model registered for pmo-risk-cost"},
            }
        )
    )

    models: list[ModelOut]
    missing: dict[Target, str]
    reload: ReloadStatusOut | None = Field(
        default=None, description="Following the registry's champion alias: checks, swaps."
    )


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class ReadyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=_examples(
            {"ready": True, "models": {"schedule": "3", "cost": "2"}, "missing": {}},
            {
                "ready": False,
                "models": {"schedule": "3"},
                "missing": {"cost": "no champion model registered for pmo-risk-cost"},
            },
        )
    )

    ready: bool
    models: dict[Target, str] = Field(description="Loaded champion version per target.")
    missing: dict[Target, str] = Field(description="Why a target has no model.")


class ImportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=_examples(
            {
                "dry_run": False,
                "files": ["projects.csv", "snapshots.csv"],
                "summary": {
                    "projects_inserted": 1,
                    "projects_updated": 0,
                    "snapshots_inserted": 2,
                    "snapshots_updated": 0,
                    "unchanged": 0,
                    "revision": 13,
                },
                "revision": 13,
            }
        )
    )

    dry_run: bool
    files: list[str]
    summary: dict[str, Any] = Field(description="Rows read, inserted, updated, unchanged.")
    revision: int = Field(description="Store revision after the import.")


class ProblemOut(BaseModel):
    file: str
    row: int | None
    column: str | None
    message: str
    value: str | None = None


class ErrorOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=_examples(
            {
                "detail": "1 problem found; nothing was changed",
                "problems": [
                    {
                        "file": "snapshots.csv",
                        "row": 7,
                        "column": "percent_complete",
                        "message": "percent_complete must be between 0 and 100",
                        "value": "140",
                    }
                ],
            }
        )
    )

    detail: str
    problems: list[ProblemOut] = []


# -- issue 6: API keys -------------------------------------------------------------------------
Role = Literal["viewer", "analyst", "admin"]


class KeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_examples(
            {"role": "viewer", "name": "finance dashboard", "portfolios": ["Infrastructure"]}
        ),
    )

    role: Role
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
    portfolios: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]],
        Field(max_length=100, description="Limit the key to these portfolios (empty: all)."),
    ] = []


class KeyOut(BaseModel):
    key_id: str
    name: str
    role: Role
    portfolios: list[str]
    created_at: datetime
    revoked_at: datetime | None = None


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The key itself: shown once, never stored.")


class KeysOut(BaseModel):
    keys: list[KeyOut]


ReloadOut.model_rebuild()
