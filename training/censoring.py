"""Inverse-probability-of-censoring weights: finished projects made to stand for all projects.

At a cut-off the projects whose outcome is known are those that finished by then, a biased
sample: a project that took ``R`` times its planned duration is known only if it had run at
least ``R`` of its plan by the cut-off, so among the recently started only the short ones (which
overrun less) are in. Each known project is weighted by ``1 / G(R)``, ``G(r)`` the chance that
a project had run at least ``r`` of its plan by the cut-off, i.e. the chance that a project
like it (same ``R``) would have been known. That elapsed share ``c = (cut-off - start) /
planned`` is known for every project started by the cut-off (start and plan are known from
approval), so ``G`` is its empirical survival over those projects (Kaplan–Meier with nothing
censored). Nothing after the cut-off is read.

Why not ``1 / F(c)`` (``F`` the Kaplan–Meier distribution of ``R``, at the project's own
``c``): that is the chance that *a* project of its cohort is known, not this one; known
projects of a recent cohort are its short ones, and weighting them up pushes the sample
further toward short, on-time projects (measured on simulator seeds 3 and 11: worse).

A target may also know some outcomes of running projects (a schedule overrun is certain once
a project runs past ``(1 + threshold) x`` planned): from that ratio on (``certain_after``) the
outcome is known whether the project finished or not, so ``R`` counts as that ratio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Largest weight a project gets (a long project known only because it started early stands
#: for at most this many).
MAX_WEIGHT = 10.0


def duration_ratios(projects: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per project started by ``cutoff``: ``planned_days``, ``elapsed`` (share of planned
    duration at the cut-off) and ``ratio`` (actual / planned duration; NaN unless it was
    completed by the cut-off).

    Reads ``start_date``, ``baseline_finish`` and, of projects finished by the cut-off,
    ``actual_finish`` and ``status`` (a project stopped but not completed, e.g. cancelled, has
    no ratio). Projects with an unknown start or a planned duration that is not positive are
    left out. Indexed by ``project_id``.
    """
    cut = pd.Timestamp(cutoff)
    proj = projects.drop_duplicates("project_id")
    start = pd.to_datetime(proj["start_date"])
    planned = (pd.to_datetime(proj["baseline_finish"]) - start) / pd.Timedelta(days=1)
    finish = pd.to_datetime(proj["actual_finish"])
    status = (
        proj["status"]
        .astype("object")
        .map(lambda s: s.strip().lower() if isinstance(s, str) and s.strip() else None)
    )
    completed = finish.notna() & (finish <= cut) & (status.isna() | (status == "completed"))
    frame = pd.DataFrame(
        {
            "planned_days": planned.to_numpy(dtype="float64"),
            "elapsed": (((cut - start) / pd.Timedelta(days=1)) / planned).to_numpy(dtype="float64"),
            "ratio": (((finish - start) / pd.Timedelta(days=1)) / planned)
            .where(completed)
            .to_numpy(dtype="float64"),
        },
        index=pd.Index(proj["project_id"].to_numpy(), name="project_id"),
    )
    ok = (start.notna() & (start <= cut) & (planned > 0)).to_numpy()
    return frame.loc[ok]


def censoring_weights(
    projects: pd.DataFrame,
    cutoff: pd.Timestamp,
    *,
    since: pd.Timestamp | None = None,
    certain_after: float | None = None,
    max_weight: float = MAX_WEIGHT,
) -> pd.Series:
    """Weight of each project whose outcome is known at ``cutoff`` (indexed by ``project_id``).

    ``1 / G(R)``: ``G(r)`` the share of projects started by ``cutoff`` that had run at least
    ``r`` of their plan by then. With ``since`` (a part of the known projects that leaves out
    those known by ``since``): ``G(r)`` the share that reached ``r`` after ``since`` and by
    ``cutoff``. Clipped to ``[1, max_weight]``. A running project past ``certain_after`` of
    its plan counts as known with ``R = certain_after``.
    """
    cut = pd.Timestamp(cutoff)
    frame = duration_ratios(projects, cut)
    elapsed = frame["elapsed"].to_numpy(dtype="float64")
    ratio = frame["ratio"].to_numpy(dtype="float64")
    if certain_after is not None:
        ratio = np.where(np.isnan(ratio) & (elapsed > certain_after), certain_after, ratio)
        ratio = np.minimum(ratio, certain_after)
    known = ~np.isnan(ratio)
    r = ratio[known]
    reached = _count_at_least(elapsed, r)
    if since is not None:
        shift = (cut - pd.Timestamp(since)) / pd.Timedelta(days=1)
        before = elapsed - shift / frame["planned_days"].to_numpy(dtype="float64")
        reached = reached - _count_at_least(before, r)
    share = reached / max(len(elapsed), 1)
    with np.errstate(divide="ignore"):
        w = np.where(share > 0, 1.0 / share, max_weight)
    return pd.Series(np.clip(w, 1.0, max_weight), index=frame.index[known], name="weight")


def _count_at_least(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each of ``at``, how many of ``values`` are >= it."""
    ordered = np.sort(values)
    return len(ordered) - np.searchsorted(ordered, at, side="left")
