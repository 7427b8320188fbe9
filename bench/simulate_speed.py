"""Time ``simulate_portfolio`` on a large portfolio and print one JSON line.

``python bench/simulate_speed.py --projects 100000``: seconds, the 60 s limit, a trivial numpy
baseline (an equal-size random matrix) timed in the same run, and overrun rates by category.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from training.simulate import simulate_portfolio
from training.targets import make_targets

LIMIT_SECONDS = 60.0


def baseline_seconds(n_rows: int, n_columns: int = 14, seed: int = 0) -> float:
    """Seconds to draw an ``n_rows x n_columns`` standard-normal matrix (machine speed probe)."""
    began = time.perf_counter()
    np.random.default_rng(seed).standard_normal((n_rows, n_columns))
    return time.perf_counter() - began


def run(n_projects: int, seed: int) -> dict[str, object]:
    """Simulate, time, and summarise the portfolio."""
    began = time.perf_counter()
    portfolio = simulate_portfolio(n_projects, seed=seed)
    seconds = time.perf_counter() - began
    base = baseline_seconds(len(portfolio.snapshots))
    targets = make_targets(portfolio.projects).merge(
        portfolio.projects[["project_id", "category"]], on="project_id"
    )
    rates = targets.groupby("category")[["schedule_overrun", "cost_overrun"]].mean().round(3)
    return {
        "projects": n_projects,
        "snapshots": len(portfolio.snapshots),
        "seconds": round(seconds, 2),
        "limit_seconds": LIMIT_SECONDS,
        "ok": seconds < LIMIT_SECONDS,
        "baseline_seconds": round(base, 3),
        "ratio": round(seconds / base, 1) if base > 0 else None,
        "completed": int(targets["schedule_overrun"].notna().sum()),
        "overrun_rate": {
            "schedule": round(float(targets["schedule_overrun"].mean()), 3),
            "cost": round(float(targets["cost_overrun"].mean()), 3),
        },
        "overrun_rate_by_category": rates.to_dict(orient="index"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(run(args.projects, args.seed)))


if __name__ == "__main__":
    main()
