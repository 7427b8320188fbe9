"""Time ``load_nyc`` on the 2019 NYC capital projects copy and print one JSON line.

``python bench/nyc_load_speed.py [--file PATH] [--repeat 5]``: the best of ``--repeat`` loads
(read, map, validate) beside the best of ``pandas.read_csv`` of the same file in the same run
(text only, the machine speed probe), their ratio, and the frame sizes. The file defaults to
``$PMO_RISK_SHARED_DATA`` or ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.sources.datasets.nyc import load_nyc

RELATIVE = Path("nyc_capital_projects") / "NYC_capital_projects_20190901.csv"


def default_file() -> Path:
    root = os.environ.get("PMO_RISK_SHARED_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return base / RELATIVE


def best_seconds(action: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``action``, in seconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=default_file())
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path: Path = args.file
    if not path.is_file():
        raise SystemExit(f"no NYC data file at {path}; pass --file PATH")

    baseline = best_seconds(lambda: pd.read_csv(path, dtype=str), args.repeat)
    projects, snapshots = load_nyc(path)
    seconds = best_seconds(lambda: load_nyc(path), args.repeat)
    print(
        json.dumps(
            {
                "file": path.name,
                "bytes": path.stat().st_size,
                "projects": len(projects),
                "snapshots": len(snapshots),
                "seconds": round(seconds, 3),
                "baseline": "pandas.read_csv(dtype=str) of the same file",
                "baseline_seconds": round(baseline, 4),
                "ratio": round(seconds / baseline, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
