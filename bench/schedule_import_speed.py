"""Benchmark importing a P6 XER of 4,000 activities and 6,000 relationships.

Run: ``python bench/schedule_import_speed.py [--activities 4000] [--relationships 6000]``.
Generates a cost-loaded schedule (``training.synthetic_schedule``), then times
``features.sources.schedules.load_schedule_history`` on it (read with ``xerparser``,
project signals, the 14 DCMA checks with two forward passes, canonical frames) against a
same-run baseline: parsing the same file with ``xerparser`` alone. Prints one JSON object
(median of ``--repeat`` runs each) and writes it to ``bench/results/schedule_import_speed.json``.
The limit is 10 s for the whole import.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from features.sources.schedules import load_schedule_history
from training.synthetic_schedule import write_synthetic_xer

LIMIT_SECONDS = 10.0
RESULTS = Path(__file__).resolve().parent / "results" / "schedule_import_speed.json"


def _median_seconds(run: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=4000)
    parser.add_argument("--relationships", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="Do not write the results file.")
    args = parser.parse_args()
    from xerparser import Xer

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.xer"
        made = write_synthetic_xer(
            path,
            n_activities=args.activities,
            n_relationships=args.relationships,
            progress=0.4,
            delay_days=15,
            cost_overrun=0.1,
        )
        baseline = _median_seconds(lambda: Xer.reader(path), args.repeat)
        seconds = _median_seconds(lambda: load_schedule_history([path]), args.repeat)
        history = load_schedule_history([path])
    result = {
        "activities": made.n_activities,
        "relationships": made.n_relationships,
        "file_bytes": len(made.text.encode("cp1252")),
        "snapshots": len(history.snapshots),
        "seconds": round(seconds, 3),
        "limit_seconds": LIMIT_SECONDS,
        "ok": seconds <= LIMIT_SECONDS,
        "baseline": "xerparser.Xer.reader on the same file (parse only)",
        "baseline_seconds": round(baseline, 3),
        "ratio": round(seconds / baseline, 2) if baseline > 0 else None,
        "repeat": args.repeat,
    }
    text = json.dumps(result)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
