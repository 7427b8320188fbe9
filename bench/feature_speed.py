"""Benchmark ``features.pipeline.build_features`` on a synthetic 1,000,000-row history.

Run: ``python bench/feature_speed.py [--projects 40000] [--reports 25]``. Prints one JSON object
with the rows, the seconds taken, the 30 s limit, and a same-run baseline (a plain
groupby-cumsum over the same frame) so the ratio is comparable across machines.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from features.pipeline import build_features

LIMIT_SECONDS = 30.0


def synthetic_history(
    n_projects: int, n_reports: int, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A plausible portfolio: S-curve plans, drifting CPI/SPI, forecasts, RAG and registers."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:06d}" for i in range(n_projects)], dtype=object)
    start = np.datetime64("2015-01-01") + rng.integers(0, 2900, n_projects).astype("timedelta64[D]")
    duration = rng.integers(180, 1500, n_projects)
    finish = start + duration.astype("timedelta64[D]")
    bac = 10 ** rng.uniform(4, 8, n_projects)
    categories = np.array(["IT", "Bridges", "Roads", "Buildings", "Water"], dtype=object)
    projects = pd.DataFrame(
        {
            "project_id": ids,
            "category": pd.Series(categories[rng.integers(0, 5, n_projects)], dtype=object),
            "start_date": start,
            "baseline_finish": finish,
            "baseline_budget": bac,
            "complexity": rng.integers(1, 6, n_projects).astype(float),
        }
    )

    n = n_projects * n_reports
    proj = np.repeat(np.arange(n_projects), n_reports)
    k = np.tile(np.arange(1, n_reports + 1), n_projects)
    gap = duration[proj] * 1.3 / n_reports
    t = np.round(k * gap).astype(np.int64)
    as_of = start[proj] + t.astype("timedelta64[D]")
    share = np.clip(t / duration[proj], 0, 1)
    pv = bac[proj] * share**2 * (3 - 2 * share)
    drift = rng.normal(0, 0.02, n).reshape(n_projects, n_reports).cumsum(axis=1).ravel()
    spi = np.clip(0.9 + drift, 0.3, 1.5)
    cpi = np.clip(0.95 + 0.5 * drift + rng.normal(0, 0.01, n), 0.3, 1.5)
    ev = np.minimum(pv * spi, bac[proj])
    ac = ev / cpi
    slip = np.maximum(0.0, (1 / spi - 1)) * duration[proj]
    forecast_finish = finish[proj] + np.round(slip).astype("timedelta64[D]")
    forecast_cost = bac[proj] / cpi
    rag = np.where(cpi < 0.85, "red", np.where(cpi < 0.95, "amber", "green")).astype(object)

    def holes(x: np.ndarray, p: float = 0.05) -> np.ndarray:
        out = x.astype(float) if x.dtype.kind == "f" else x.copy()
        mask = rng.random(len(x)) < p
        if out.dtype.kind == "M":
            out[mask] = np.datetime64("NaT")
        elif out.dtype.kind == "O":
            out[mask] = None
        else:
            out[mask] = np.nan
        return out

    snapshots = pd.DataFrame(
        {
            "project_id": ids[proj],
            "as_of": as_of,
            "percent_complete": holes(100 * ev / bac[proj]),
            "planned_value": holes(pv),
            "earned_value": holes(ev),
            "actual_cost": holes(ac),
            "forecast_finish": holes(forecast_finish),
            "forecast_cost": holes(forecast_cost),
            "budget": holes(bac[proj] * 1.0),
            "rag": pd.Series(holes(rag), dtype=object),
            "open_risks": holes(rng.poisson(5, n).astype(float)),
            "open_issues": holes(rng.poisson(2, n).astype(float)),
            "change_requests": holes(k * 0.3 + rng.poisson(1, n)),
        }
    )
    snapshots["project_id"] = snapshots["project_id"].astype(object)
    return projects, snapshots


def _baseline_seconds(snapshots: pd.DataFrame) -> float:
    """Seconds of a plain per-project cumulative sum of the EVM columns (same frame)."""
    t0 = time.perf_counter()
    snapshots.groupby("project_id", sort=True)[
        ["planned_value", "earned_value", "actual_cost"]
    ].cumsum()
    return time.perf_counter() - t0


def main() -> None:
    """Time build_features and the baseline; print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=40_000)
    parser.add_argument("--reports", type=int, default=25)
    args = parser.parse_args()
    projects, snapshots = synthetic_history(args.projects, args.reports)

    baseline_seconds = min(_baseline_seconds(snapshots) for _ in range(3))

    t0 = time.perf_counter()
    features = build_features(projects, snapshots)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "rows": len(snapshots),
                "output_rows": len(features),
                "output_columns": features.shape[1],
                "seconds": round(seconds, 3),
                "limit_seconds": LIMIT_SECONDS,
                "ok": seconds < LIMIT_SECONDS,
                "baseline_seconds": round(baseline_seconds, 3),
                "ratio": round(seconds / baseline_seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
