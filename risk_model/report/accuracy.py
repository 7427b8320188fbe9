"""The report's statement of how accurate the model is: from the backtest when there is one.

``accuracy_statements(models, backtests)`` gives one ``Accuracy`` per target: from the latest
backtest of the target (``pmo-risk evaluate``: the model retrained at each cut-off on what was
known then, scored on the reports that followed) when one was logged, else from the single
held-out test split recorded with the champion version, saying so. Each gives ROC-AUC and
Brier score by stage beside the best baseline (the non-model forecast with the highest
overall ROC-AUC on the same reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

BASELINES = (
    "evm_rule",
    "index_forecast",
    "composite_eac",
    "pm_forecast",
    "recent_moves",
    "base_rate",
)
"""Forecasts a PMO could use without the model (the oracle is not one: synthetic data only)."""
STAGE_LABELS: dict[str, str] = {
    "overall": "all stages",
    "early": "early (<30% elapsed)",
    "mid": "mid (30–70% elapsed)",
    "late": "late (>70% elapsed)",
}
_BACKTEST_STAGES: dict[str, str] = {
    "early (<30%)": "early",
    "mid (30–70%)": "mid",
    "late (>70%)": "late",
}


class BacktestFigures(Protocol):
    """What the report needs of a logged backtest (``model_registry.BacktestRecord``)."""

    @property
    def run_id(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def figures(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StageAccuracy:
    stage: str
    """``overall``, ``early``, ``mid`` or ``late``."""
    model_auc: float | None
    model_brier: float | None
    baseline_auc: float | None
    baseline_brier: float | None
    reports: int | None

    @property
    def label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


@dataclass(frozen=True)
class Accuracy:
    target: str
    source: str
    """``backtest``, ``test split`` or ``none``."""
    text: str
    baseline: str | None
    """The best baseline's name (``index_forecast``...), None when there is none."""
    stages: tuple[StageAccuracy, ...] = ()

    @property
    def baseline_label(self) -> str:
        return (self.baseline or "baseline").replace("_", " ")


Groups = Mapping[str, Mapping[str, Mapping[str, Any]]]
"""stage -> scorer -> metric -> value."""


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v == v else None


def best_baseline(overall: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The baseline with the highest overall ROC-AUC (None when no baseline has one)."""
    scored = [(auc, b) for b in BASELINES if (auc := _num(overall.get(b, {}).get("roc_auc")))]
    return max(scored)[1] if scored else None


def _stages(groups: Groups, baseline: str | None) -> tuple[StageAccuracy, ...]:
    out = []
    for stage in STAGE_LABELS:
        scorers = groups.get(stage)
        if not scorers or "model" not in scorers:
            continue
        model = scorers["model"]
        base = scorers.get(baseline, {}) if baseline else {}
        n = _num(model.get("n"))
        out.append(
            StageAccuracy(
                stage,
                _num(model.get("roc_auc")),
                _num(model.get("brier")),
                _num(base.get("roc_auc")),
                _num(base.get("brier")),
                int(n) if n is not None else None,
            )
        )
    return tuple(out)


def _figures(s: StageAccuracy, baseline: str | None) -> str:
    def pair(auc: float | None, brier: float | None) -> str:
        a = "—" if auc is None else f"{auc:.2f}"
        b = "—" if brier is None else f"{brier:.3f}"
        return f"ROC-AUC {a}, Brier {b}"

    text = f"{s.label}: model {pair(s.model_auc, s.model_brier)}"
    if baseline is not None:
        text += f" vs {baseline.replace('_', ' ')} {pair(s.baseline_auc, s.baseline_brier)}"
    return text


def _by_stage(stages: tuple[StageAccuracy, ...], baseline: str | None) -> str:
    return "; ".join(_figures(s, baseline) for s in stages)


def backtest_groups(figures: Mapping[str, Any]) -> Groups:
    """A backtest's ``metrics`` (``overall`` + ``by_stage`` with labelled stages) as
    stage -> scorer -> metric."""
    metrics = figures.get("metrics") or {}
    groups: dict[str, Mapping[str, Mapping[str, Any]]] = {"overall": metrics.get("overall") or {}}
    for label, scorers in (metrics.get("by_stage") or {}).items():
        groups[_BACKTEST_STAGES.get(label, label)] = scorers or {}
    return groups


def split_groups(metrics: Mapping[str, float]) -> Groups:
    """A model version's flat ``test.<stage>.<scorer>.<metric>`` metrics, nested."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, value in metrics.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[0] == "test":
            out.setdefault(parts[1], {}).setdefault(parts[2], {})[parts[3]] = value
    return out


def backtest_accuracy(target: str, record: BacktestFigures) -> Accuracy:
    """The statement from a logged backtest: its date, folds, cut-offs, reports, by stage."""
    figures = record.figures
    groups = backtest_groups(figures)
    baseline = best_baseline(groups.get("overall", {}))
    stages = _stages(groups, baseline)
    folds = len(figures.get("folds") or [])
    cutoffs = [str(c) for c in figures.get("cutoffs") or []]
    span = f", cut-offs {cutoffs[0]} to {cutoffs[-1]}" if len(cutoffs) > 1 else ""
    if len(cutoffs) == 1:
        span = f", cut-off {cutoffs[0]}"
    reports, projects = figures.get("rows"), figures.get("projects")
    scored = f"; {reports:,} reports of {projects:,} projects" if reports and projects else ""
    text = (
        f"{target} overrun, from the backtest of {record.started_at:%Y-%m-%d} "
        f"(MLflow run {record.run_id[:8]}; {folds} fold{'s' if folds != 1 else ''}{span}"
        f"{scored}): at each cut-off the model was trained only on what was known then and "
        f"scored the reports that followed. "
    )
    if stages:
        text += _by_stage(stages, baseline) + "."
    else:
        text += "The backtest recorded no model metrics."
    return Accuracy(target, "backtest", text, baseline, stages)


def split_accuracy(target: str, version: str, metrics: Mapping[str, float]) -> Accuracy:
    """The fallback: the champion's single held-out test split, saying there is no backtest."""
    groups = split_groups(metrics)
    baseline = best_baseline(groups.get("overall", {}))
    stages = _stages(groups, baseline)
    lead = (
        f"{target} overrun: no backtest has been logged for this target (run `pmo-risk "
        f"evaluate`), so these figures come from the single test split of model version "
        f"{version} (the latest-finishing projects, held out from training). "
    )
    if not stages:
        return Accuracy(target, "none", lead + "No test metrics were recorded.", None)
    return Accuracy(
        target, "test split", lead + _by_stage(stages, baseline) + ".", baseline, stages
    )


def accuracy_statements(
    models: Mapping[str, Any], backtests: Mapping[str, BacktestFigures | None] | None = None
) -> list[Accuracy]:
    """One statement per loaded target: its latest backtest when given, else its test split."""
    out: list[Accuracy] = []
    for target, m in models.items():
        record = (backtests or {}).get(target)
        if record is not None:
            out.append(backtest_accuracy(target, record))
        else:
            out.append(split_accuracy(target, str(m.version), getattr(m, "metrics", {}) or {}))
    return out
