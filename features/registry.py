"""The one feature registry: name, unit, meaning and direction of every model feature.

``FEATURES`` is ordered as the columns of ``features.pipeline.build_features``; explanations
(``describe_driver``) and documentation (``feature_table_markdown``) read from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

HigherIs = Literal["worse", "better", "neutral"]
Fmt = Literal["text", "ratio", "share", "pct", "days", "count", "money_log10", "per_report", "rag"]

TREND_WINDOW = 3
"""Reports in the trend (OLS slope) window."""
VOLATILITY_WINDOW = TREND_WINDOW + 1
"""Reports in the volatility (standard deviation) window."""
ATTR_PREFIX = "attr_"
RAG_NAMES = ("green", "amber", "red")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: its column name, unit, one-line meaning and how to phrase it."""

    name: str
    unit: str
    meaning: str
    higher_is: HigherIs
    fmt: Fmt
    label: str = ""
    missing: str = ""

    @property
    def title(self) -> str:
        """Short human label, e.g. ``CPI``."""
        return self.label or self.name.replace("_", " ").capitalize()


_NO_EV = "No earned value reported"
_NO_FC = "No forecast reported"
_NO_PD = "Planned duration unknown (no start or baseline finish)"
_FEW = "Not enough reports for a trend"
_K = TREND_WINDOW
_V = VOLATILITY_WINDOW


def _spec(
    name: str,
    unit: str,
    meaning: str,
    higher_is: HigherIs,
    fmt: Fmt,
    label: str = "",
    missing: str = "",
) -> tuple[str, FeatureSpec]:
    return name, FeatureSpec(name, unit, meaning, higher_is, fmt, label, missing)


def _trio(base: str, label: str, missing: str) -> list[tuple[str, FeatureSpec]]:
    return [
        _spec(
            f"{base}_change",
            "per report",
            f"Change of {label} since the previous report.",
            "neutral",
            "per_report",
            f"{label} change since the last report",
            missing,
        ),
        _spec(
            f"{base}_trend",
            "per report",
            f"OLS slope of {label} over the last {_K} reports.",
            "neutral",
            "per_report",
            f"{label} trend over the last {_K} reports",
            missing or _FEW,
        ),
        _spec(
            f"{base}_volatility",
            "same as value",
            f"Standard deviation of {label} over the last {_V} reports.",
            "worse",
            "ratio",
            f"{label} volatility over the last {_V} reports",
            missing or _FEW,
        ),
    ]


def _count_pair(base: str, label: str) -> list[tuple[str, FeatureSpec]]:
    missing = f"No {label.lower()} count reported"
    return [
        _spec(base, "count", f"{label} at the latest report.", "worse", "count", label, missing),
        _spec(
            f"{base}_trend",
            "per report",
            f"OLS slope of {label.lower()} over the last {_K} reports.",
            "worse",
            "per_report",
            f"{label} trend over the last {_K} reports",
            missing,
        ),
    ]


_NO_SCHEDULE = "No schedule file imported"
_DCMA: tuple[tuple[str, str, HigherIs, Fmt, str], ...] = (
    ("missing_logic", "share", "worse", "share", "Activities without logic (DCMA 1)"),
    ("leads", "share", "worse", "share", "Relationships with leads (DCMA 2)"),
    ("lags", "share", "worse", "share", "Relationships with lags (DCMA 3)"),
    ("fs_relationships", "share", "better", "share", "Finish-to-start relationships (DCMA 4)"),
    ("hard_constraints", "share", "worse", "share", "Activities with hard constraints (DCMA 5)"),
    ("high_float", "share", "worse", "share", "Activities with high float (DCMA 6)"),
    ("negative_float", "share", "worse", "share", "Activities with negative float (DCMA 7)"),
    ("high_duration", "share", "worse", "share", "Tasks with high duration (DCMA 8)"),
    ("invalid_dates", "count", "worse", "count", "Activities with invalid dates (DCMA 9)"),
    ("no_resources", "share", "worse", "share", "Tasks without resources (DCMA 10)"),
    ("missed_tasks", "share", "worse", "share", "Missed tasks (DCMA 11)"),
    ("critical_path_test", "1 pass / 0 fail", "better", "ratio", "Critical path test (DCMA 12)"),
    ("cpli", "ratio", "better", "ratio", "Critical path length index (DCMA 13)"),
    ("bei", "ratio", "better", "ratio", "Baseline execution index (DCMA 14)"),
)


def _dcma_specs() -> list[tuple[str, FeatureSpec]]:
    from risk_model.schemas import SCHEDULE_QUALITY_COLUMNS

    meaning = {c.name: c.meaning for c in SCHEDULE_QUALITY_COLUMNS}
    return [
        _spec(
            f"dcma_{key}",
            unit,
            meaning[f"dcma_{key}"] + " Latest schedule update so far.",
            higher_is,
            fmt,
            label,
            _NO_SCHEDULE,
        )
        for key, unit, higher_is, fmt, label in _DCMA
    ]


_ENTRIES: list[tuple[str, FeatureSpec]] = [
    # static
    _spec(
        "category",
        "text",
        "Reference class of the project (e.g. Bridges, IT).",
        "neutral",
        "text",
        "Category",
        "No category given",
    ),
    _spec(
        "log_budget",
        "log10 money",
        "log10 of the baseline budget at completion (project size).",
        "neutral",
        "money_log10",
        "Baseline budget",
        "No baseline budget given",
    ),
    _spec(
        "log_current_budget",
        "log10 money",
        "log10 of the latest approved budget reported (size as currently approved).",
        "neutral",
        "money_log10",
        "Current approved budget",
        "No budget given or reported",
    ),
    _spec(
        "planned_duration_days",
        "days",
        "Baseline finish minus start date.",
        "neutral",
        "days",
        "Planned duration",
        _NO_PD,
    ),
    # progress
    _spec(
        "elapsed_share",
        "share of planned duration",
        "(as_of - start) / planned duration: how far through the plan the report is.",
        "neutral",
        "share",
        "Elapsed time",
        _NO_PD,
    ),
    _spec(
        "n_reports",
        "count",
        "Status reports received up to the row's date (0 at approval).",
        "neutral",
        "count",
        "Reports received",
    ),
    _spec(
        "report_gap_days",
        "days",
        "Days since the previous status report.",
        "worse",
        "days",
        "Gap since the previous report",
        "No previous report",
    ),
    _spec(
        "percent_complete",
        "percent",
        "Physical percent complete (0-100), or EV/BAC x 100 when not given.",
        "better",
        "pct",
        "Percent complete",
        "No progress reported",
    ),
    _spec(
        "progress_lag",
        "share",
        "Elapsed share minus percent complete / 100: time used beyond work done.",
        "worse",
        "share",
        "Progress lag (time elapsed minus work done)",
        "No progress reported",
    ),
    # earned value
    _spec("spi", "ratio", "Schedule performance index EV / PV.", "better", "ratio", "SPI", _NO_EV),
    _spec("cpi", "ratio", "Cost performance index EV / AC.", "better", "ratio", "CPI", _NO_EV),
    _spec(
        "tcpi",
        "ratio",
        "To-complete performance index (BAC - EV) / (BAC - AC).",
        "worse",
        "ratio",
        "TCPI",
        _NO_EV,
    ),
    _spec(
        "tcpi_minus_cpi",
        "ratio",
        "TCPI - CPI: efficiency needed beyond efficiency achieved.",
        "worse",
        "ratio",
        "TCPI minus CPI",
        _NO_EV,
    ),
    _spec(
        "eac_bac_cpi",
        "ratio",
        "EAC / BAC with EAC = BAC / CPI.",
        "worse",
        "ratio",
        "EAC/BAC (CPI method)",
        _NO_EV,
    ),
    _spec(
        "eac_bac_composite",
        "ratio",
        "EAC / BAC with EAC = AC + (BAC - EV) / (CPI x SPI).",
        "worse",
        "ratio",
        "EAC/BAC (CPI x SPI method)",
        _NO_EV,
    ),
    _spec(
        "ac_share",
        "share of BAC",
        "Actual cost to date / budget at completion.",
        "neutral",
        "share",
        "Spent to date",
        "No actual cost reported",
    ),
    # earned schedule
    _spec(
        "spi_t",
        "ratio",
        "Earned schedule SPI(t) = ES / AT (ES interpolated on the planned value curve).",
        "better",
        "ratio",
        "SPI(t)",
        _NO_EV,
    ),
    _spec(
        "sv_t_share",
        "share of planned duration",
        "Earned schedule variance (ES - AT) / planned duration.",
        "better",
        "share",
        "Schedule variance SV(t)",
        _NO_EV,
    ),
    _spec(
        "ieac_t_share",
        "share of planned duration",
        "IEAC(t) / planned duration = 1 / SPI(t): forecast duration by earned schedule.",
        "worse",
        "ratio",
        "Earned-schedule forecast duration / plan",
        _NO_EV,
    ),
    # forecasts
    _spec(
        "forecast_slip",
        "share of planned duration",
        "(forecast finish - baseline finish) / planned duration.",
        "worse",
        "share",
        "Forecast slip",
        _NO_FC,
    ),
    _spec(
        "forecast_cost_growth",
        "share of baseline budget",
        "forecast cost / baseline budget - 1.",
        "worse",
        "share",
        "Forecast cost growth",
        _NO_FC,
    ),
    _spec(
        "budget_growth",
        "share of baseline budget",
        "current approved budget / baseline budget - 1.",
        "worse",
        "share",
        "Budget growth",
        "No current budget reported",
    ),
    _spec(
        "n_reestimates",
        "count",
        "Reports so far where the forecast finish or cost changed from the previous report.",
        "worse",
        "count",
        "Re-estimates",
        _NO_FC,
    ),
    _spec(
        "forecast_slip_gap",
        "share of planned duration",
        "Slip implied by SPI(t) (1/SPI(t) - 1) minus the reported forecast slip.",
        "worse",
        "share",
        "Earned-schedule slip beyond the reported forecast",
        "No earned value or no forecast reported",
    ),
    _spec(
        "forecast_cost_gap",
        "share of BAC",
        "(BAC / CPI - forecast cost) / BAC: CPI-based EAC above the reported forecast.",
        "worse",
        "share",
        "CPI-based cost overrun beyond the reported forecast",
        "No earned value or no forecast reported",
    ),
    # trends
    *_trio("cpi", "CPI", ""),
    *_trio("spi_t", "SPI(t)", ""),
    *_trio("forecast_slip", "Forecast slip", ""),
    _spec(
        "forecast_cost_growth_trend",
        "per report",
        f"OLS slope of forecast cost growth over the last {_K} reports.",
        "worse",
        "per_report",
        f"Forecast cost growth trend over the last {_K} reports",
        _FEW,
    ),
    # status report
    _spec(
        "rag_score",
        "ordinal",
        "Latest RAG status: green 0, amber 1, red 2.",
        "worse",
        "rag",
        "RAG status",
        "No RAG status reported",
    ),
    _spec(
        "rag_worst",
        "ordinal",
        "Worst RAG status reported so far: green 0, amber 1, red 2.",
        "worse",
        "rag",
        "Worst RAG status so far",
        "No RAG status reported",
    ),
    _spec(
        "rag_age_days",
        "days",
        "Days since the RAG status last changed (or was first reported).",
        "neutral",
        "days",
        "Days at the current RAG status",
        "No RAG status reported",
    ),
    *_count_pair("open_risks", "Open risks"),
    *_count_pair("open_issues", "Open issues"),
    *_count_pair("change_requests", "Change requests"),
    # schedule quality (issue 4): DCMA 14-point figures of the latest schedule file
    *_dcma_specs(),
    # issue 5: the risk register (point in time; NaN when the project keeps no register)
    _spec(
        "register_open_risks",
        "count",
        "Risks in the register open at the report date.",
        "worse",
        "count",
        "Open risks in the register",
        "No risk register kept",
    ),
    _spec(
        "register_high_risks",
        "count",
        "Open register risks with probability x impact of 15 or more.",
        "worse",
        "count",
        "High risks in the register",
        "No risk register kept",
    ),
    _spec(
        "register_overdue_actions",
        "count",
        "Mitigation actions past their due date and not done at the report date.",
        "worse",
        "count",
        "Overdue mitigation actions",
        "No risk register kept",
    ),
]

FEATURES: dict[str, FeatureSpec] = dict(_ENTRIES)
"""Every model feature, in output column order."""

CATEGORICAL: tuple[str, ...] = ("category",)
"""The non-numeric features (object dtype)."""


def _num(v: float, digits: int = 2) -> str:
    text = f"{v:.{digits}f}"
    return text.replace("-", "\u2212")


def _signed(v: float, digits: int = 2) -> str:
    return ("+" if v > 0 else "") + _num(v, digits)


def _money(log10_value: float) -> str:
    amount = 10.0**log10_value
    for cut, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if amount >= cut:
            return f"{amount / cut:.1f}{suffix}"
    return f"{amount:.0f}"


def format_value(spec: FeatureSpec, value: float | str) -> str:
    """The value in the feature's unit, e.g. ``21%``, ``0.82``, ``35 days``."""
    if isinstance(value, str):
        return value
    v = float(value)
    match spec.fmt:
        case "share":
            return f"{_num(v * 100, 0)}%"
        case "pct":
            return f"{_num(v, 0)}%"
        case "days":
            return f"{_num(v, 0)} days"
        case "count":
            return _num(v, 0)
        case "money_log10":
            return _money(v)
        case "per_report":
            return f"{_signed(v)} per report"
        case "rag":
            idx = round(v)
            return RAG_NAMES[idx] if 0 <= idx < len(RAG_NAMES) else _num(v)
        case _:
            return _num(v)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is float:  # the common case, without pandas
        return value != value
    if isinstance(value, str):
        return value == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _ratio_note(name: str, v: float) -> str:
    if name == "cpi":
        good, bad = "earning more than spent", "spending more than earned"
    else:
        good, bad = "ahead of schedule", "behind schedule"
    if abs(v - 1.0) < 0.005:
        return ""
    return f" ({bad if v < 1 else good})"


_SHARE_PHRASED = frozenset({"forecast_slip", "forecast_cost_growth", "budget_growth"})
"""Features phrased with their absolute value as a share (``slipped 10% of ...``)."""


def _subject(spec: FeatureSpec, value: float | str) -> str:
    name = spec.name
    if isinstance(value, str):
        return f"{spec.title} is {value}"
    v = float(value)
    if name not in _SHARE_PHRASED:
        if name in ("cpi", "spi", "spi_t"):
            return f"{spec.title} is {format_value(spec, v)}{_ratio_note(name, v)}"
        if name == "dcma_critical_path_test":
            return f"{spec.title} {'passed' if v >= 0.5 else 'failed'}"
        return f"{spec.title} is {format_value(spec, v)}"
    share = f"{_num(abs(v) * 100, 0)}%"
    if name == "forecast_slip":
        if v > 0:
            return f"Forecast finish has slipped {share} of planned duration"
        if v < 0:
            return f"Forecast finish is {share} of planned duration ahead of baseline"
        return "Forecast finish is on the baseline date"
    what = "Forecast cost" if name == "forecast_cost_growth" else "Approved budget"
    if v == 0:
        return f"{what} equals the baseline budget"
    return f"{what} is {share} {'over' if v > 0 else 'under'} the baseline budget"


def _direction(contribution: float, target: str) -> str:
    if contribution > 0:
        return f"raises {target} risk"
    if contribution < 0:
        return f"lowers {target} risk"
    return f"does not move {target} risk"


def _describe_one(name: str, value: float | str | None, contribution: float, target: str) -> str:
    """``describe_driver`` of one value (the reference ``describe_drivers`` is tested against)."""
    direction = _direction(contribution, target)
    spec = FEATURES.get(name)
    if spec is None:
        label = (
            f"Project attribute '{name[len(ATTR_PREFIX) :]}'"
            if name.startswith(ATTR_PREFIX)
            else name.replace("_", " ").capitalize()
        )
        if value is None or _is_missing(value):
            return f"{label} not given — {direction}"
        shown = value if isinstance(value, str) else f"{float(value):g}".replace("-", "\u2212")
        return f"{label} is {shown} — {direction}"
    if _is_missing(value):
        missing = spec.missing or f"{spec.title} not available"
        return f"{missing} — {direction}"
    assert value is not None
    return f"{_subject(spec, value)} — {direction}"


class DriverWords:
    """``describe_driver``: a driver in plain words, one at a time, or many of one feature in
    one call (``many``: the same words, faster; ``risk_model.explain`` uses it)."""

    def __call__(
        self, name: str, value: float | str | None, contribution: float, target: str
    ) -> str:
        """A SHAP contribution in plain words: what the value is, and which way it moves risk.

        >>> describe_driver("cpi", 0.82, 0.3, "cost")
        'CPI is 0.82 (spending more than earned) — raises cost risk'
        """
        return _describe_one(name, value, contribution, target)

    def many(
        self, name: str, values: Sequence[Any], contributions: Sequence[float], target: str
    ) -> list[str]:
        """``describe_drivers``: one feature's words at many values, in order."""
        return describe_drivers(name, values, contributions, target)


describe_driver = DriverWords()
"""A driver in plain words: ``describe_driver(name, value, contribution, target)``, e.g.
``CPI is 0.82 (spending more than earned) — raises cost risk`` (``DriverWords``)."""

_MINUS = "\u2212"
_UNITS: dict[str, tuple[str, float, bool, str]] = {
    "share": (".0f", 100.0, False, "%"),
    "pct": (".0f", 1.0, False, "%"),
    "days": (".0f", 1.0, False, " days"),
    "count": (".0f", 1.0, False, ""),
    "per_report": (".2f", 1.0, True, " per report"),
}
"""``format_value``'s number formats as data: format spec, scale, signed, unit text (other
formats but ``money_log10`` and ``rag``: ``.2f``)."""


def describe_drivers(
    name: str, values: Sequence[Any], contributions: Sequence[float], target: str
) -> list[str]:
    """``describe_driver`` of one feature at many (value, contribution) pairs, in order.

    The same words (tested against ``describe_driver`` for every feature), with the
    feature's phrasing chosen once: a number costs one formatting, not a chain of calls.
    """
    ways = [f" — {_direction(x, target)}" for x in (0.0, 1.0, -1.0)]  # by sign: 0, +, -
    signs = [(c > 0) + 2 * (c < 0) for c in contributions]
    spec = FEATURES.get(name)
    if spec is None:
        return [
            _describe_one(name, v, c, target) for v, c in zip(values, contributions, strict=True)
        ]
    phrase = _number_phrase(spec)
    missing = spec.missing or f"{spec.title} not available"
    return [
        (phrase(v) if v == v else missing) + ways[s]
        if type(v) is float
        else (missing if _is_missing(v) else _subject(spec, v)) + ways[s]
        for v, s in zip(values, signs, strict=True)
    ]


def _slip_phrase(v: float) -> str:
    """``_subject`` of a forecast slip ``v`` (a float)."""
    if v == 0:
        return "Forecast finish is on the baseline date"
    share = format(abs(v) * 100, ".0f").replace("-", _MINUS)
    if v > 0:
        return f"Forecast finish has slipped {share}% of planned duration"
    return f"Forecast finish is {share}% of planned duration ahead of baseline"


def _number_phrase(spec: FeatureSpec) -> Callable[[float], str]:
    """``_subject(spec, v)`` for a float ``v`` as one function, chosen once per feature."""
    name, head = spec.name, f"{spec.title} is "
    if name == "forecast_slip":
        return _slip_phrase
    if name in _SHARE_PHRASED:
        what = "Forecast cost" if name == "forecast_cost_growth" else "Approved budget"
        return lambda v: (
            f"{what} equals the baseline budget"
            if v == 0
            else f"{what} is {format(abs(v) * 100, '.0f').replace('-', _MINUS)}% "
            f"{'over' if v > 0 else 'under'} the baseline budget"
        )
    if name == "dcma_critical_path_test" or spec.fmt in ("money_log10", "rag"):
        return lambda v: _subject(spec, v)
    form, scale, signed, unit = _UNITS.get(spec.fmt, (".2f", 1.0, False, ""))
    if name in ("cpi", "spi", "spi_t"):
        good, bad = (
            (" (earning more than spent)", " (spending more than earned)")
            if name == "cpi"
            else (" (ahead of schedule)", " (behind schedule)")
        )
        return lambda v: (
            f"{head}{format(v * scale, form).replace('-', _MINUS)}{unit}"
            f"{'' if abs(v - 1.0) < 0.005 else bad if v < 1 else good}"
        )
    if signed:
        return lambda v: (
            f"{head}{'+' if v > 0 else ''}{format(v * scale, form).replace('-', _MINUS)}{unit}"
        )
    return lambda v: f"{head}{format(v * scale, form).replace('-', _MINUS)}{unit}"


def feature_table_markdown() -> str:
    """A Markdown table of every feature (name, unit, higher is, meaning) for the docs."""
    lines = [
        "| Feature | Unit | Higher is | Meaning |",
        "|---|---|---|---|",
    ]
    for spec in FEATURES.values():
        lines.append(f"| `{spec.name}` | {spec.unit} | {spec.higher_is} | {spec.meaning} |")
    lines.append(
        f"| `{ATTR_PREFIX}<name>` | as given | neutral | "
        "A numeric extra column of the projects table (project attribute). |"
    )
    return "\n".join(lines) + "\n"


def feature_glossary(names: Iterable[str]) -> pd.DataFrame:
    """Title, unit and meaning of each named feature (index: name), e.g. beside an importance
    table. ``attr_<name>`` columns are project attributes; unknown names get empty cells."""
    rows = []
    for name in names:
        spec = FEATURES.get(name)
        if spec is not None:
            rows.append((name, spec.title, spec.unit, spec.meaning))
        elif name.startswith(ATTR_PREFIX):
            rows.append((name, name[len(ATTR_PREFIX) :], "as given", "A project attribute."))
        else:
            rows.append((name, name, "", ""))
    frame = pd.DataFrame(rows, columns=["feature", "title", "unit", "meaning"])
    return frame.set_index("feature")
