"""Which report rows learn a target, what their label is, and when that label became known.

One entry point for both kinds of target (``risk_model.config.target_kind``):

- outcome targets (``schedule``, ``cost``): rows of finished projects made before the finish;
  the label is known at the project's outcome date; the overrun ratio is kept for size models.
- the forward target: rows whose whole forward window was observed; the label is known at the
  window's end (``training.targets.forward_labels``).

``split_labelled`` then splits by time (and, for outcome targets, by project): training labels
were all known before any calibration row was made, and calibration labels before any test row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from risk_model.config import Settings, target_kind
from risk_model.exceptions import InsufficientData
from training.splits import MIN_PROJECTS, time_split
from training.targets import (
    forward_labels,
    known_overruns,
    label_forward_rows,
    label_rows,
    make_targets,
)

Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Labelled:
    """Labelled feature rows of one target (fresh RangeIndex shared by every field)."""

    target: str
    rows: pd.DataFrame
    y: pd.Series
    label_date: pd.Series
    ratio: pd.Series  # overrun size (outcome targets; NaN for forward)

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, mask: Mask) -> Labelled:
        """The rows where ``mask`` holds, re-indexed from 0."""
        return Labelled(
            self.target,
            self.rows.loc[mask].reset_index(drop=True),
            self.y.loc[mask].reset_index(drop=True),
            self.label_date.loc[mask].reset_index(drop=True),
            self.ratio.loc[mask].reset_index(drop=True),
        )


def labelled_rows(
    features: pd.DataFrame,
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    target: str,
    settings: Settings,
) -> Labelled:
    """Feature rows that can learn ``target`` with their labels, label dates and sizes."""
    if target_kind(target) == "outcome":
        targets = make_targets(
            projects,
            schedule_threshold=settings.schedule_threshold,
            cost_threshold=settings.cost_threshold,
        )
        rows, y = label_rows(features, targets, target)
        by_project = targets.set_index("project_id")
        label_date = pd.to_datetime(rows["project_id"].map(by_project["outcome_date"]))
        ratio = rows["project_id"].map(by_project[f"{target}_ratio"]).astype("float64")
        finished = Labelled(target, rows, y, label_date.rename("label_date"), ratio.rename("ratio"))
        return _with_known_overruns(finished, features, projects, snapshots, settings)
    labels = forward_labels(
        projects,
        snapshots,
        horizon_months=settings.forward_horizon_months,
        slip_days=settings.forward_slip_days,
        cost_growth=settings.forward_cost_growth,
        tolerance_days=settings.forward_tolerance_days,
    )
    rows, y, label_date = label_forward_rows(features, labels)
    ratio = pd.Series(np.nan, index=rows.index, name="ratio")
    return Labelled(target, rows, y, label_date, ratio)


def _with_known_overruns(
    finished: Labelled,
    features: pd.DataFrame,
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    settings: Settings,
) -> Labelled:
    """Add every report of running projects whose overrun was already certain (label 1).

    Their label date is when the overrun became certain (``training.targets.known_overruns``);
    their size is unknown (NaN). Every report they have is before their (future) finish.
    """
    target = finished.target
    known = known_overruns(projects, snapshots, target, settings.threshold(target))
    if known.empty:
        return finished
    when = known.set_index("project_id")["known_date"]
    extra = features.loc[features["project_id"].isin(when.index)].reset_index(drop=True)
    if extra.empty:
        return finished
    date = pd.to_datetime(extra["project_id"].map(when)).rename("label_date")
    return Labelled(
        finished.target,
        pd.concat([finished.rows, extra], ignore_index=True),
        pd.concat(
            [finished.y, pd.Series(1, index=extra.index, dtype="int64", name=finished.y.name)],
            ignore_index=True,
        ),
        pd.concat([finished.label_date, date], ignore_index=True).rename("label_date"),
        pd.concat(
            [finished.ratio, pd.Series(np.nan, index=extra.index, name="ratio")],
            ignore_index=True,
        ).rename("ratio"),
    )


@dataclass(frozen=True)
class LabelledSplit:
    """Boolean row masks of a ``Labelled`` set: training, calibration, test (disjoint)."""

    train: Mask
    cal: Mask
    test: Mask

    def sizes(self, labelled: Labelled) -> dict[str, int]:
        pid = labelled.rows["project_id"]
        return {
            "train_projects": int(pid[self.train].nunique()),
            "cal_projects": int(pid[self.cal].nunique()),
            "test_projects": int(pid[self.test].nunique()),
            "train_rows": int(self.train.sum()),
            "cal_rows": int(self.cal.sum()),
            "test_rows": int(self.test.sum()),
        }


def _rows_split(labelled: Labelled, fractions: Sequence[float]) -> LabelledSplit:
    """Forward target: by time only. Train rows' labels were known (window closed) by T1,
    calibration rows were made after T1 and known by T2, test rows were made after T2."""
    dates = labelled.label_date.sort_values(kind="mergesort").reset_index(drop=True)
    if len(dates) == 0:
        raise InsufficientData(f"{labelled.target}: no labelled reports")
    t1 = dates.iloc[min(len(dates) - 1, int(len(dates) * fractions[0]))]
    t2 = dates.iloc[min(len(dates) - 1, int(len(dates) * (fractions[0] + fractions[1])))]
    as_of = pd.to_datetime(labelled.rows["as_of"])
    label_date = labelled.label_date
    train = (label_date <= t1).to_numpy()
    cal = ((as_of > t1) & (label_date <= t2)).to_numpy()
    test = (as_of > t2).to_numpy()
    return LabelledSplit(train, cal, test)


def split_labelled(
    labelled: Labelled, fractions: Sequence[float], *, min_projects: int = MIN_PROJECTS
) -> LabelledSplit:
    """Split by time; outcome targets also by project (every report of a project in one part)."""
    if target_kind(labelled.target) == "forward":
        return _rows_split(labelled, fractions)
    per_project = (
        pd.DataFrame(
            {
                "project_id": labelled.rows["project_id"],
                "outcome_date": labelled.label_date,
                f"{labelled.target}_overrun": labelled.y.astype("float64"),
            }
        )
        .drop_duplicates("project_id")
        .reset_index(drop=True)
    )
    split = time_split(per_project, fractions, target=labelled.target, min_projects=min_projects)
    pid = labelled.rows["project_id"].astype(str)
    return LabelledSplit(
        pid.isin(split.train_ids).to_numpy(),
        pid.isin(split.cal_ids).to_numpy(),
        pid.isin(split.test_ids).to_numpy(),
    )


def split_train_cal(labelled: Labelled, *, cal_fraction: float = 0.25) -> tuple[Mask, Mask]:
    """Two-way time split for a model trained on everything known (backtest folds, retrain).

    Outcome targets: projects ordered by outcome date, the latest ``cal_fraction`` of them
    calibrate. Forward target: the latest ``cal_fraction`` of reports calibrate, and training
    keeps only rows whose label was known before the first calibration report was made (the
    reports in between are left out).
    """
    if not 0 < cal_fraction < 1:
        raise ValueError("cal_fraction must be inside (0, 1)")
    if len(labelled) == 0:
        raise InsufficientData(f"{labelled.target}: no labelled reports")
    if target_kind(labelled.target) == "forward":
        as_of = pd.to_datetime(labelled.rows["as_of"])
        dates = as_of.sort_values(kind="mergesort").reset_index(drop=True)
        t1 = dates.iloc[min(len(dates) - 1, int(len(dates) * (1 - cal_fraction)))]
        return (labelled.label_date <= t1).to_numpy(), (as_of > t1).to_numpy()
    per_project = (
        pd.DataFrame(
            {"project_id": labelled.rows["project_id"].astype(str), "date": labelled.label_date}
        )
        .drop_duplicates("project_id")
        .sort_values(["date", "project_id"], kind="mergesort")
    )
    n_cal = max(1, round(len(per_project) * cal_fraction))
    cal_ids = set(per_project["project_id"].iloc[len(per_project) - n_cal :])
    pid = labelled.rows["project_id"].astype(str)
    cal = pid.isin(cal_ids).to_numpy()
    return ~cal, cal
