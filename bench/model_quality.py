"""Model quality on the synthetic portfolio: the model beside the oracle and the baselines.

Prints JSON: per target, ROC-AUC / Brier / ECE of the model, the oracle (best achievable under
the simulator) and each PMO baseline, overall and by stage, on the same test rows, plus the
checks the backbone issue sets (schedule AUC within 0.05 of the oracle, above both baselines).

    python bench/model_quality.py --projects 1000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from risk_model.config import Settings
from training.evaluate import classification_metrics, ece_noise_floor
from training.simulate import simulate_portfolio
from training.train import train_portfolio


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def noise_floor(rows: Any) -> dict[str, float]:
    """The model's and the oracle's ECE on the test rows beside the ECE a perfectly
    calibrated predictor would show on them from sampling noise alone
    (``training.evaluate.ece_noise_floor``, 200 draws, seed 0): rows drawn independently,
    and each project's reports sharing one outcome."""
    p = rows["p_oracle"].to_numpy(dtype="float64")
    return {
        "ece": classification_metrics(rows["y"], rows["p_model"])["ece"],
        "oracle_ece": classification_metrics(rows["y"], p)["ece"],
        "ece_noise_floor": ece_noise_floor(p),
        "ece_noise_floor_by_project": ece_noise_floor(p, rows["project_id"]),
    }


def run(projects: int, seed: int) -> dict[str, Any]:
    settings = Settings(home=Path(tempfile.mkdtemp()))
    t0 = time.perf_counter()
    sim = simulate_portfolio(projects, seed=seed)
    t1 = time.perf_counter()
    fits = train_portfolio(sim.projects, sim.snapshots, settings, oracle=sim.oracle)
    t2 = time.perf_counter()
    report: dict[str, Any] = {
        "projects": projects,
        "seed": seed,
        "simulate_seconds": round(t1 - t0, 2),
        "train_seconds": round(t2 - t1, 2),
        "targets": {},
    }
    for target, fit in fits.items():
        overall = fit.evaluation["overall"]
        keep = ("roc_auc", "pr_auc", "brier", "ece", "n")
        summary = {
            "overall": {lab: {k: m[k] for k in keep} for lab, m in overall.items()},
            "by_stage": {
                st: {lab: {k: m[k] for k in keep} for lab, m in labs.items()}
                for st, labs in fit.evaluation["by_stage"].items()
            },
            "sizes": fit.sizes,
        }
        model_auc = overall["model"]["roc_auc"]
        oracle_auc = overall.get("oracle", {}).get("roc_auc", math.nan)
        evm = overall.get("evm_rule", {}).get("roc_auc", math.nan)
        base = overall.get("base_rate", {}).get("roc_auc", math.nan)
        summary["checks"] = {
            "auc_gap_to_oracle": oracle_auc - model_auc,
            "within_0.05_of_oracle": bool(oracle_auc - model_auc <= 0.05),
            "beats_evm_rule": bool(model_auc > evm),
            "beats_base_rate": bool(model_auc > base),
        }
        if "p_oracle" in fit.test_frame.columns:
            summary["checks"].update(noise_floor(fit.test_frame))
        report["targets"][target] = summary
    return _clean(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "model_quality.json",
        help="Also write the JSON here (default: bench/results/model_quality.json, as every "
        "bench script writes its result).",
    )
    args = parser.parse_args()
    report = run(args.projects, args.seed)
    text = json.dumps(report, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
