"""Time ``pmo-risk import`` of 100,000 snapshot rows from CSV into a fresh SQLite store.

``python bench/import_speed.py``: writes a simulated portfolio's projects.csv and the first
``--rows`` rows of its snapshots.csv, then times the import entry point (survey -> mapping ->
validation -> one-transaction upsert) into a new store, and ``pandas.read_csv`` of the same
snapshots file in the same run as the baseline. Prints one JSON line and writes
``bench/results/import_speed.json``. Limit: 10 s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from features.sources.importer import import_paths
from features.sources.intake import survey
from risk_model.store import Store
from training.simulate import simulate_portfolio

LIMIT_SECONDS = 10.0
RESULTS = Path(__file__).resolve().parent / "results" / "import_speed.json"


def write_files(folder: Path, rows: int, seed: int) -> tuple[Path, Path]:
    """projects.csv and a snapshots.csv of exactly ``rows`` rows (whole projects, then cut)."""
    projects_wanted = max(100, rows // 20)
    while True:
        sim = simulate_portfolio(projects_wanted, seed=seed)
        if len(sim.snapshots) >= rows:
            break
        projects_wanted *= 2
    snapshots = sim.snapshots.iloc[:rows]
    projects = sim.projects.loc[sim.projects["project_id"].isin(snapshots["project_id"])]
    paths = (folder / "projects.csv", folder / "snapshots.csv")
    projects.to_csv(paths[0], index=False, date_format="%Y-%m-%d")
    snapshots.to_csv(paths[1], index=False, date_format="%Y-%m-%d")
    return paths


def run(rows: int, seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        projects, snapshots = write_files(folder, rows, seed)
        began = time.perf_counter()
        baseline = pd.read_csv(snapshots)
        base = time.perf_counter() - began
        store = Store(f"sqlite:///{folder / 'bench.db'}").init()
        began = time.perf_counter()
        summary = import_paths(store, survey([snapshots, projects]))
        seconds = time.perf_counter() - began
        store.dispose()
    assert summary is not None and summary.snapshots_inserted == len(baseline) == rows
    return {
        "snapshot_rows": rows,
        "projects": summary.projects_inserted,
        "seconds": round(seconds, 2),
        "limit_seconds": LIMIT_SECONDS,
        "ok": seconds <= LIMIT_SECONDS,
        "baseline": "pandas.read_csv of the same snapshots file",
        "baseline_seconds": round(base, 3),
        "ratio": round(seconds / base, 1) if base > 0 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = run(args.rows, args.seed)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
