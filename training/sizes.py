"""Fit and evaluate the overrun-size range (P10 / P50 / P90) of one target on a time split.

Same flow as ``training.train.fit_target``: the ratio rows of finished projects
(``targets.ratio_rows``), projects split by finish date (earliest train, next calibrate,
latest test), ``OverrunRange`` fitted on train with conformal calibration on the later
calibration projects, then the test projects scored beside the index forecast and the PM's
forecast (``coverage.size_metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.pipeline import feature_columns
from risk_model.config import TARGETS, Settings
from risk_model.exceptions import InsufficientData
from risk_model.ranges import RANGE_COLUMNS, OverrunRange
from training.coverage import size_baselines, size_metrics, size_table
from training.evaluate import Result, flatten_metrics
from training.splits import Split, split_rows, time_split
from training.targets import ratio_column, ratio_rows

#: Where the quantile boosters start (``OverrunRange.offset``): the index forecast of the
#: ratio (IEAC(t)/PD - 1, EAC(CPI)/BAC - 1), else the PM's forecast, else 0. The same
#: definitions as ``training.baselines.index_forecast`` / ``pm_forecast``.
OFFSETS: dict[str, dict[str, float]] = {
    "schedule": {"ieac_t_share": -1.0, "forecast_slip": 0.0},
    "cost": {"eac_bac_cpi": -1.0, "forecast_cost_growth": 0.0},
}


def size_targets(targets: pd.DataFrame) -> list[str]:
    """The targets (in ``TARGETS`` order) whose overrun ratio ``targets`` holds."""
    return [t for t in TARGETS if t in OFFSETS and ratio_column(t) in targets.columns]


def range_model(target: str, columns: list[str], settings: Settings) -> OverrunRange:
    """An unfitted ``OverrunRange`` with the settings' hyper-parameters and ``target``'s offset."""
    offset = {k: v for k, v in OFFSETS.get(target, {}).items() if k in columns}
    return OverrunRange.from_settings(settings, offset=offset or None)


@dataclass
class SizeFit:
    """A fitted and evaluated range model of one target."""

    target: str
    model: OverrunRange
    evaluation: Result
    table: str
    metrics: dict[str, float]
    test_frame: pd.DataFrame


def fit_size(
    features: pd.DataFrame,
    targets: pd.DataFrame,
    target: str,
    settings: Settings,
    *,
    split: Split | None = None,
) -> SizeFit:
    """Fit the range of ``target`` on ``split`` (by default a time split of its ratio rows).

    ``test_frame`` holds per test row ``project_id``, ``as_of``, ``elapsed_share``, ``y`` (the
    true ratio), ``p10``, ``p50``, ``p90`` and each size baseline; ``metrics`` are
    ``size_metrics`` flattened under the prefix ``size``.
    """
    col = ratio_column(target)
    known = targets.dropna(subset=[col])
    if split is None:
        split = time_split(known, settings.split_fractions, target=target)
    rows, y = ratio_rows(features, known, target)
    train, cal, test = split_rows(rows, split)
    for name, part in (("training", train), ("calibration", cal), ("test", test)):
        if len(part) == 0:
            raise InsufficientData(f"{target}: the {name} projects have no reports before finish")
    columns = feature_columns(rows)
    model = range_model(target, columns, settings)
    model.fit(train[columns], y.loc[train.index], cal[columns], y.loc[cal.index])
    pred = model.predict(test[columns])
    frame = test[["project_id", "as_of", "elapsed_share"]].copy()
    frame["y"] = y.loc[test.index].to_numpy()
    frame[list(RANGE_COLUMNS)] = pred.to_numpy()
    baselines = size_baselines(test, target)
    for name, values in baselines.items():
        frame[name] = values.to_numpy()
    evaluation = size_metrics(frame["y"], pred, baselines, frame["elapsed_share"])
    return SizeFit(
        target=target,
        model=model,
        evaluation=evaluation,
        table=size_table(evaluation),
        metrics=flatten_metrics(evaluation, "size"),
        test_frame=frame,
    )
