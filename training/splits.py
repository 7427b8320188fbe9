"""Honest splits: by project and by time, never random by report row.

Projects with a known outcome are ordered by outcome date (ties by project_id); the
earliest-finishing share trains, the next calibrates, the latest tests. Every report of a
project lands in the same split, so a model is never scored on a project it has seen, and the
test set is the most recent past, as it will be in use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from risk_model.exceptions import InsufficientData
from training.targets import label_column

MIN_PROJECTS = 30
SPLIT_NAMES: tuple[str, str, str] = ("train", "calibration", "test")


@dataclass(frozen=True)
class Split:
    """Project ids of each part of a split; disjoint sets."""

    train_ids: frozenset[str]
    cal_ids: frozenset[str]
    test_ids: frozenset[str]

    @property
    def parts(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(train, calibration, test) ids, in time order."""
        return (self.train_ids, self.cal_ids, self.test_ids)

    def sizes(self) -> dict[str, int]:
        """Number of projects per part: ``{"train": n, "calibration": n, "test": n}``."""
        return {name: len(ids) for name, ids in zip(SPLIT_NAMES, self.parts, strict=True)}


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(not (f > 0) for f in fractions):
        raise ValueError(f"fractions must be three positive numbers, got {tuple(fractions)}")
    total = float(sum(fractions))
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must sum to 1, got {total:g}")
    return (fractions[0], fractions[1], fractions[2])


def time_split(
    targets: pd.DataFrame,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    *,
    target: str | None = None,
    min_projects: int = MIN_PROJECTS,
) -> Split:
    """Split labelled projects by outcome date: earliest train, next calibration, latest test.

    A project counts when its outcome date is known and its ``target`` label is known (any
    label when ``target`` is None). Deterministic: order is (outcome_date, project_id).
    Raises ``InsufficientData`` with the counts when fewer than ``min_projects`` projects are
    labelled, or when a part holds a single class of a label (that label alone when ``target``
    is given, else every label that has any known value).
    """
    f_train, f_cal, _ = _check_fractions(fractions)
    labels = [label_column(target)] if target else ["schedule_overrun", "cost_overrun"]
    known_label = targets[labels].notna().any(axis=1)
    usable = targets.loc[targets["outcome_date"].notna() & known_label]
    what = f"{target} label" if target else "outcome"
    n = len(usable)
    if n < min_projects:
        raise InsufficientData(
            f"{n} project{'s' if n != 1 else ''} with a known {what}; at least {min_projects} "
            "finished projects are needed to train and test honestly"
        )
    ordered = usable.assign(_pid=usable["project_id"].astype(str)).sort_values(
        ["outcome_date", "_pid"], kind="mergesort"
    )
    b1 = round(n * f_train)
    b2 = round(n * (f_train + f_cal))
    bounds = [(0, b1), (b1, b2), (b2, n)]
    parts = [ordered.iloc[a:b] for a, b in bounds]
    checked = labels if target else [c for c in labels if usable[c].notna().any()]
    for name, part in zip(SPLIT_NAMES, parts, strict=True):
        if part.empty:
            raise InsufficientData(f"the {name} part of {n} projects would be empty")
        for col in checked:
            values = part[col].dropna()
            if values.nunique() < 2:
                raise InsufficientData(
                    f"the {name} part ({len(part)} projects, {len(values)} with a known "
                    f"{col}) holds a single class of {col} "
                    f"({int(values.sum())} overruns); more finished projects are needed"
                )
    ids = [frozenset(str(p) for p in part["project_id"]) for part in parts]
    return Split(train_ids=ids[0], cal_ids=ids[1], test_ids=ids[2])


def split_rows(
    frame: pd.DataFrame, split: Split
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, calibration, test) rows of ``frame`` by ``project_id``; the index is kept.

    Keeping the index lets labels follow: ``y.loc[train.index]``. Rows of projects in no part
    (unlabelled) are dropped.
    """
    pid = frame["project_id"].astype(str)
    train, cal, test = (frame.loc[pid.isin(ids)] for ids in split.parts)
    return train, cal, test
