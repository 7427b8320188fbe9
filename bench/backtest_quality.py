"""Backtest figures kept in the repo: the model beside each baseline, per stage (issue 3 §7).

Runs the rolling-origin backtest (``training.backtest.run_backtest``, the same code as
``pmo-risk evaluate``) on the synthetic portfolio (with the simulator's oracle) and, when the
file is present, on the NYC capital projects data, and prints JSON with every figure plus the
checks issue 3 sets:

- synthetic: ROC-AUC within 0.02 of the oracle and calibration error <= 0.03 (per target);
- NYC, forward target: the model beats every baseline in Brier score and ROC-AUC at < 30%
  elapsed (ROC-AUC on the rows the baseline ranks, Brier on every row).

Writes bench/results/backtest_synthetic.json and bench/results/backtest_nyc.json.

    python bench/backtest_quality.py --projects 1000 --seed 7 \
        --nyc ../shared/data/nyc_capital_projects/NYC_capital_projects_20190901.csv
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from risk_model.config import TARGETS, Settings
from risk_model.exceptions import InsufficientData
from training.backtest import run_backtest
from training.evaluate import STAGES, classification_metrics, ece_noise_floor
from training.simulate import simulate_portfolio

RESULTS = Path(__file__).parent / "results"


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def noise_floor(rows: Any) -> dict[str, float]:
    """The oracle's own ECE on these rows and the ECE a perfectly calibrated predictor would
    show on them from sampling noise alone (``training.evaluate.ece_noise_floor``, 200 draws,
    seed 0): rows drawn independently, and each project's reports sharing one outcome."""
    p = rows["p_oracle"].to_numpy(dtype="float64")
    oracle = classification_metrics(rows["y"], p)
    return {
        "oracle_ece": round(oracle["ece"], 4),
        "ece_noise_floor": round(ece_noise_floor(p), 4),
        "ece_noise_floor_by_project": round(ece_noise_floor(p, rows["project_id"]), 4),
    }


def _per_fold(bt: Any) -> list[dict[str, Any]]:
    """Each fold's own gap to the oracle and ECE (pooling adds the folds' differences), beside
    the oracle's ECE and the noise floor on the same rows."""
    out = []
    for k, rows in bt.scored.groupby("fold", sort=True):
        fold = bt.folds[int(k)]
        model = classification_metrics(rows["y"], rows["p_model"])
        oracle = classification_metrics(rows["y"], rows["p_oracle"])
        out.append(
            {
                "cutoff": str(fold.cutoff.date()),
                "train_projects": fold.train_projects,
                "test_rows": fold.test_rows,
                "auc_gap_to_oracle": round(oracle["roc_auc"] - model["roc_auc"], 4),
                "ece": round(model["ece"], 4),
                **noise_floor(rows),
            }
        )
    return out


def synthetic(projects: int, seed: int) -> dict[str, Any]:
    settings = Settings(home=Path(tempfile.mkdtemp()))
    sim = simulate_portfolio(projects, seed=seed)
    out: dict[str, Any] = {"data": f"simulated portfolio, {projects} projects, seed {seed}"}
    checks: dict[str, Any] = {}
    for target in TARGETS:
        t0 = time.perf_counter()
        bt = run_backtest(sim.projects, sim.snapshots, settings, target=target, oracle=sim.oracle)
        out[target] = {**bt.to_dict(), "seconds": round(time.perf_counter() - t0, 1)}
        overall = bt.evaluation["overall"]
        if "oracle" in overall:
            gap = _num(overall["oracle"]["roc_auc"]) - _num(overall["model"]["roc_auc"])
            ece = _num(overall["model"]["ece"])
            checks[target] = {
                "auc_gap_to_oracle": round(gap, 4),
                "auc_within_0.02_of_oracle": gap <= 0.02,
                "ece": round(ece, 4),
                "ece_at_most_0.03": ece <= 0.03,
                **noise_floor(bt.scored),
                "per_fold": _per_fold(bt),
            }
    out["checks"] = checks
    return out


def nyc(path: Path) -> dict[str, Any]:
    from features.sources.datasets.nyc import load_nyc

    settings = Settings(home=Path(tempfile.mkdtemp()))
    projects, snapshots = load_nyc(path)
    out: dict[str, Any] = {"data": f"NYC capital projects ({path.name})"}
    for target in TARGETS:
        try:
            out[target] = run_backtest(projects, snapshots, settings, target=target).to_dict()
        except InsufficientData as exc:
            out[target] = {"not_backtested": str(exc)}
    forward = out.get("forward", {})
    checks: dict[str, Any] = {}
    if "metrics" in forward:
        early = forward["metrics"]["by_stage"][STAGES[0]]
        model = early["model"]
        rivals = {k: v for k, v in early.items() if k != "model"}
        # Same rows: ROC-AUC on the rows the baseline ranks (a baseline without a score on a
        # row cannot rank it; with no score on any row it has no AUC to beat), Brier on every
        # row (a baseline's "no score" rows get its training rate for "no score").
        checks["forward_early"] = {
            name: {
                "rows_ranked_by_baseline": m["n"],
                "auc_model_same_rows": m.get("model_roc_auc_same_rows"),
                "auc_baseline": m["roc_auc"],
                "rows_scored": model["n"],
                "brier_model": model["brier"],
                "brier_baseline": m["brier"],
                "model_better": (
                    m["roc_auc"] is None
                    or _num(m.get("model_roc_auc_same_rows")) > _num(m["roc_auc"])
                )
                and _num(model["brier"]) < _num(m["brier"]),
            }
            for name, m in rivals.items()
        }
        checks["forward_early_beats_every_baseline"] = all(
            c["model_better"] for c in checks["forward_early"].values()
        )
    out["checks"] = checks
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--nyc", type=Path, default=None)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    report = {"synthetic": synthetic(args.projects, args.seed)}
    (RESULTS / "backtest_synthetic.json").write_text(
        json.dumps(report["synthetic"], indent=2, allow_nan=False), encoding="utf-8"
    )
    if args.nyc is not None and args.nyc.exists():
        report["nyc"] = nyc(args.nyc)
        (RESULTS / "backtest_nyc.json").write_text(
            json.dumps(report["nyc"], indent=2, allow_nan=False), encoding="utf-8"
        )
    print(json.dumps({k: v.get("checks") for k, v in report.items()}, indent=2))


if __name__ == "__main__":
    main()
