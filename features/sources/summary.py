"""A few lines describing a portfolio history: counts, report dates, overrun shares."""

from __future__ import annotations

import pandas as pd

__all__ = ["describe_history", "overrun_shares"]


def overrun_shares(projects: pd.DataFrame, snapshots: pd.DataFrame) -> dict[str, float]:
    """Share of projects whose actual (else latest forecast) finish / cost exceeds baseline.

    Each share is over the projects having both figures (NaN when none); keys ``schedule``
    and ``cost``.
    """
    latest = (
        snapshots.sort_values("as_of")
        .groupby("project_id")[["forecast_finish", "forecast_cost"]]
        .last()
    )
    joined = projects.set_index("project_id").join(latest)
    finish = joined["actual_finish"].fillna(joined["forecast_finish"])
    cost = joined["actual_cost"].fillna(joined["forecast_cost"])
    has_finish = finish.notna() & joined["baseline_finish"].notna()
    has_cost = cost.notna() & joined["baseline_budget"].notna()
    late = finish[has_finish] > joined["baseline_finish"][has_finish]
    over = cost[has_cost] > joined["baseline_budget"][has_cost]
    return {
        "schedule": float(late.mean()) if len(late) else float("nan"),
        "cost": float(over.mean()) if len(over) else float("nan"),
    }


def describe_history(projects: pd.DataFrame, snapshots: pd.DataFrame) -> list[str]:
    """Human lines: projects (by status), reports and their dates, overrun shares."""
    status = projects["status"].value_counts().to_dict() if len(projects) else {}
    lines = [
        f"{len(projects)} projects ("
        + ", ".join(f"{n} {s}" for s, n in sorted(status.items()))
        + ")",
    ]
    if len(snapshots):
        days = snapshots["as_of"]
        lines.append(
            f"{len(snapshots)} status reports from {days.min():%Y-%m-%d} to {days.max():%Y-%m-%d}"
            f" ({days.nunique()} report dates)"
        )
    else:
        lines.append("no status reports")
    shares = overrun_shares(projects, snapshots)
    lines.append(
        "finish later than baseline (actual or latest forecast): "
        + ("n/a" if pd.isna(shares["schedule"]) else f"{shares['schedule']:.1%}")
        + "; cost above baseline: "
        + ("n/a" if pd.isna(shares["cost"]) else f"{shares['cost']:.1%}")
    )
    return lines
