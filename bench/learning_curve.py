"""Learning curve: how far below the oracle the model ranks with k finished projects (issue 3).

Issue 3 asks, on the synthetic portfolio, for ROC-AUC within 0.02 of the oracle and
calibration error <= 0.03. The rolling-origin backtest (``bench/backtest_quality.py``) trains
each fold on what its cut-off knew: the first fold on 50-74 finished projects. This bench holds
the backtest's test rows fixed and changes only how many finished projects the model learns
from, so it shows where on the curve the backtest's folds sit and how many projects the bar
needs:

- fixed test rows: the pooled backtest rows (``training.backtest.run_backtest``) of the
  evaluated portfolio (default 1,000 projects, seed 7, as in ``bench/backtest_quality.py``),
  per outcome target, with the oracle's probability and the ``index_forecast`` baseline;
- training data: a separate reference portfolio (default 20,000 projects, seed 1000, its
  reports cut far in the future so every project finished). For each k, k projects drawn at
  random (whole histories, final outcomes) are fitted with ``training.train.new_model`` (the
  product's hyper-parameters, monotone directions and gain scales); small k are drawn 3 times
  (mean, min, max); the same draws serve both targets and both splits;
- two training / calibration splits of the drawn projects: ``time``, the product's
  ``training.labels.split_train_cal`` (the latest 25% by outcome date calibrate; in a portfolio
  where every project finished those are its last finishers, late projects over-represented,
  so this ECE mostly measures that selection), and ``random`` (25% of the projects drawn at
  random calibrate);
- at the largest k, one larger-capacity variant (more and deeper trees) beside the default.

Each row of the JSON gives, on the fixed rows, the model's ROC-AUC gap to the oracle, ECE and
Brier score; beside them the oracle's own figures and noise floors, the index forecast's gap
(on the rows it scores) and the backtest model's own pooled gap with each fold's training
projects. Progress goes to stderr; stdout is the JSON, also written to
bench/results/learning_curve.json. With the defaults: 38 fits per split, 4 min 45 s to
4 min 56 s on the shared 2-core machine (about half of it the four larger-capacity fits on
~390,000 training rows each).

    python bench/learning_curve.py --projects 1000 --seed 7 \
        --reference-projects 20000 --reference-seed 1000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.pipeline import build_features, feature_columns
from risk_model.config import Settings
from risk_model.estimator import RiskClassifier
from training.backtest import Backtest, run_backtest
from training.evaluate import classification_metrics, ece_noise_floor
from training.labels import Labelled, Mask, labelled_rows, split_train_cal
from training.simulate import simulate_portfolio
from training.train import new_model

RESULTS = Path(__file__).parent / "results"
TARGETS = ("schedule", "cost")  # outcome targets: the simulator's oracle covers them
KS = (50, 100, 250, 500, 1000, 3000, 10000)
#: How the drawn projects are split into training and calibration (25% calibrate).
SPLITS = {
    "time": "training.labels.split_train_cal, as the product and every backtest fold: the "
    "latest 25% of the projects by outcome date calibrate",
    "random": "25% of the projects drawn at random calibrate (rng seed: --draw-seed + draw)",
}
#: Larger capacity than the product's defaults, fitted once at the largest k.
LARGER = {"num_leaves": 15, "n_estimators": 600, "min_child_samples": 50, "learning_rate": 0.05}
T0 = time.perf_counter()


def progress(message: str) -> None:
    """One progress line on stderr (stdout stays pure JSON)."""
    print(f"[{time.perf_counter() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def _r(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 4)


def _figures(rows: pd.DataFrame, p: Any, oracle_auc: float) -> dict[str, Any]:
    m = classification_metrics(rows["y"], p)
    return {
        "auc_gap_to_oracle": _r(oracle_auc - m["roc_auc"]),
        "roc_auc": _r(m["roc_auc"]),
        "ece": _r(m["ece"]),
        "brier": _r(m["brier"]),
    }


# -- the fixed test rows ---------------------------------------------------------------------
def fixed_rows(
    projects: int, seed: int, settings: Settings
) -> dict[str, tuple[Backtest, pd.DataFrame]]:
    """Per target: the backtest and its pooled scored rows with their feature columns."""
    progress(f"evaluated portfolio: simulating {projects} projects, seed {seed}")
    sim = simulate_portfolio(projects, seed=seed)
    features = build_features(sim.projects, sim.snapshots)
    out = {}
    for target in TARGETS:
        bt = run_backtest(
            sim.projects,
            sim.snapshots,
            settings,
            target=target,
            oracle=sim.oracle,
            progress=lambda m: progress(f"backtest {m}"),
        )
        keep = ["project_id", "as_of", "fold", "y", "p_model", "p_oracle", "index_forecast"]
        rows = bt.scored[keep].merge(
            features, on=["project_id", "as_of"], how="left", validate="one_to_one"
        )
        out[target] = (bt, rows)
    return out


def baselines(bt: Backtest, rows: pd.DataFrame) -> dict[str, Any]:
    """The oracle's, the index forecast's and the backtest model's figures on the fixed rows."""
    oracle = classification_metrics(rows["y"], rows["p_oracle"])
    p = rows["p_oracle"].to_numpy(dtype="float64")
    ranked = rows["index_forecast"].notna()
    index = classification_metrics(rows.loc[ranked, "y"], rows.loc[ranked, "index_forecast"])
    oracle_there = classification_metrics(rows.loc[ranked, "y"], rows.loc[ranked, "p_oracle"])
    folds = []
    for k, fold in enumerate(bt.folds):
        part = rows.loc[rows["fold"] == k]
        if part.empty:  # skipped fold
            continue
        fold_oracle = classification_metrics(part["y"], part["p_oracle"])["roc_auc"]
        folds.append(
            {
                "cutoff": str(fold.cutoff.date()),
                "train_projects": fold.train_projects,
                "test_rows": fold.test_rows,
                **_figures(part, part["p_model"], fold_oracle),
            }
        )
    return {
        "rows": len(rows),
        "projects": int(rows["project_id"].nunique()),
        "positive_rate": _r(rows["y"].mean()),
        "oracle": {
            "roc_auc": _r(oracle["roc_auc"]),
            "ece": _r(oracle["ece"]),
            "brier": _r(oracle["brier"]),
            "ece_noise_floor": _r(ece_noise_floor(p)),
            "ece_noise_floor_by_project": _r(ece_noise_floor(p, rows["project_id"])),
        },
        "index_forecast": {
            "rows_ranked": int(ranked.sum()),
            "roc_auc": _r(index["roc_auc"]),
            "auc_gap_to_oracle": _r(oracle_there["roc_auc"] - index["roc_auc"]),
        },
        "backtest_model": {
            "pooled": _figures(rows, rows["p_model"], oracle["roc_auc"]),
            "folds": folds,
        },
    }


# -- the reference portfolio -----------------------------------------------------------------
def reference(
    projects: int, seed: int, as_of: str, settings: Settings
) -> tuple[dict[str, Labelled], list[str], dict[str, Any]]:
    """Labelled rows per target of the reference portfolio and the projects to draw from."""
    progress(f"reference portfolio: simulating {projects} projects, seed {seed}, to {as_of}")
    sim = simulate_portfolio(projects, seed=seed, as_of=as_of)
    finished = int(pd.to_datetime(sim.projects["actual_finish"]).notna().sum())
    progress(f"reference portfolio: features of {len(sim.snapshots)} reports")
    features = build_features(sim.projects, sim.snapshots)
    labelled = {
        t: labelled_rows(features, sim.projects, sim.snapshots, t, settings) for t in TARGETS
    }
    ids = sorted(
        set.intersection(*(set(lab.rows["project_id"].astype(str)) for lab in labelled.values()))
    )
    info = {
        "data": f"simulated portfolio, {projects} projects, seed {seed}, as of {as_of}",
        "finished_projects": finished,
        "projects_to_draw_from": len(ids),
        "labelled_rows": {t: len(lab) for t, lab in labelled.items()},
    }
    return labelled, ids, info


def random_split(labelled: Labelled, seed: int, cal_fraction: float = 0.25) -> tuple[Mask, Mask]:
    """Training / calibration masks with ``cal_fraction`` of the projects drawn at random."""
    ids = np.array(sorted(labelled.rows["project_id"].astype(str).unique()))
    n_cal = max(1, round(len(ids) * cal_fraction))
    cal_ids = np.random.default_rng(seed).choice(ids, size=n_cal, replace=False)
    cal = labelled.rows["project_id"].astype(str).isin(cal_ids).to_numpy()
    return ~cal, cal


def fit_and_score(
    labelled: Labelled,
    ids: set[str],
    rows: pd.DataFrame,
    settings: Settings,
    split: str,
    seed: int,
    overrides: dict[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Fit on the drawn projects (the product's constructor); score the fixed rows."""
    part = labelled.subset(labelled.rows["project_id"].astype(str).isin(ids).to_numpy())
    if split == "time":
        train, cal = split_train_cal(part, cal_fraction=0.25)
    else:
        train, cal = random_split(part, seed)
    columns = feature_columns(part.rows)
    model = new_model(labelled.target, part.rows.loc[train], columns, settings)
    if overrides:
        model = RiskClassifier(**{**model.get_params(), **overrides})
    x, y = part.rows[columns], part.y
    model.fit(x.loc[train], y[train], x.loc[cal], y[cal])
    pid = part.rows["project_id"]
    sizes = {
        "train_projects": int(pid[train].nunique()),
        "cal_projects": int(pid[cal].nunique()),
        "train_rows": int(train.sum()),
    }
    return model.predict_proba(rows[list(model.feature_names_in_)])[:, 1], sizes


def _summary(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean, min and max of each figure over the draws of one k."""
    out: dict[str, Any] = {"draws": len(runs)}
    for key in ("auc_gap_to_oracle", "ece", "brier"):
        values = [r[key] for r in runs if r[key] is not None]
        out[key] = {
            "mean": _r(float(np.mean(values))) if values else None,
            "min": _r(min(values)) if values else None,
            "max": _r(max(values)) if values else None,
        }
    out["train_projects"] = [r["train_projects"] for r in runs]
    out["cal_projects"] = [r["cal_projects"] for r in runs]
    out["train_rows"] = [r["train_rows"] for r in runs]
    out["seconds"] = round(sum(r["seconds"] for r in runs), 1)
    return out


def curve(
    labelled: dict[str, Labelled],
    ids: list[str],
    fixed: dict[str, tuple[Backtest, pd.DataFrame]],
    ks: Sequence[int],
    splits: Sequence[str],
    draws: int,
    repeat_up_to: int,
    draw_seed: int,
    settings: Settings,
) -> dict[str, dict[str, Any]]:
    """Per target, split and k: the figures of each draw, summarised (``all``: every project).

    The same drawn projects serve every target and split."""
    rng = np.random.default_rng(draw_seed)
    plan: list[tuple[str, list[set[str]], dict[str, Any] | None]] = []
    for k in sorted(k for k in ks if k < len(ids)):
        n = draws if k <= repeat_up_to else 1
        plan.append(
            (str(k), [set(rng.choice(ids, size=k, replace=False).tolist()) for _ in range(n)], None)
        )
    plan.append(("all", [set(ids)], None))
    plan.append(("all_larger_capacity", [set(ids)], LARGER))
    out: dict[str, dict[str, Any]] = {t: {s: {} for s in splits} for t in TARGETS}
    for target in TARGETS:
        rows = fixed[target][1]
        oracle_auc = classification_metrics(rows["y"], rows["p_oracle"])["roc_auc"]
        for split in splits:
            for label, sets, overrides in plan:
                runs = []
                for i, chosen in enumerate(sets):
                    progress(
                        f"{target}, {split} split: k={label} ({len(chosen)} projects), "
                        f"draw {i + 1}/{len(sets)}"
                    )
                    t0 = time.perf_counter()
                    p, sizes = fit_and_score(
                        labelled[target], chosen, rows, settings, split, draw_seed + i, overrides
                    )
                    runs.append(
                        {
                            **_figures(rows, p, oracle_auc),
                            **sizes,
                            "seconds": time.perf_counter() - t0,
                        }
                    )
                summary = _summary(runs)
                if overrides:
                    summary["hyper_parameters"] = overrides
                out[target][split][label] = {"projects": len(sets[0]), **summary}
    return out


def checks(curves: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per target and split: the fewest drawn projects (product hyper-parameters) whose mean
    gap is within 0.02 of the oracle, and whose mean ECE is at most 0.03 (None: no k did)."""
    out: dict[str, Any] = {}
    for target, by_split in curves.items():
        out[target] = {}
        for split, by_k in by_split.items():

            def first(key: str, bar: float, by_k: dict[str, Any] = by_k) -> int | None:
                hits = [
                    v["projects"]
                    for k, v in by_k.items()
                    if k != "all_larger_capacity"
                    and v[key]["mean"] is not None
                    and v[key]["mean"] <= bar
                ]
                return min(hits) if hits else None

            out[target][split] = {
                "fewest_projects_auc_within_0.02": first("auc_gap_to_oracle", 0.02),
                "fewest_projects_ece_at_most_0.03": first("ece", 0.03),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000, help="evaluated portfolio")
    parser.add_argument("--seed", type=int, default=7, help="evaluated portfolio")
    parser.add_argument("--reference-projects", type=int, default=20000)
    parser.add_argument("--reference-seed", type=int, default=1000)
    parser.add_argument(
        "--reference-as-of", default="2040-01-01", help="far enough that every project finished"
    )
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument(
        "--splits", nargs="+", choices=SPLITS, default=list(SPLITS), help="calibration splits"
    )
    parser.add_argument("--draws", type=int, default=3, help="draws per k up to --repeat-up-to")
    parser.add_argument("--repeat-up-to", type=int, default=1000)
    parser.add_argument("--draw-seed", type=int, default=0)
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS / "learning_curve.json",
        help="Also write the JSON here (default: bench/results/learning_curve.json).",
    )
    args = parser.parse_args()
    settings = Settings(home=Path(tempfile.mkdtemp()))
    fixed = fixed_rows(args.projects, args.seed, settings)
    labelled, ids, ref = reference(
        args.reference_projects, args.reference_seed, args.reference_as_of, settings
    )
    curves = curve(
        labelled,
        ids,
        fixed,
        args.ks,
        args.splits,
        args.draws,
        args.repeat_up_to,
        args.draw_seed,
        settings,
    )
    report = {
        "evaluated": f"simulated portfolio, {args.projects} projects, seed {args.seed}: "
        "the pooled rows of its rolling-origin backtest",
        "reference": ref,
        "splits": {k: v for k, v in SPLITS.items() if k in args.splits},
        "draws": f"{args.draws} per k up to {args.repeat_up_to}, else 1 "
        f"(rng seed {args.draw_seed})",
        "targets": {t: {"test_rows": baselines(*fixed[t]), "curve": curves[t]} for t in TARGETS},
        "checks": checks(curves),
        "seconds": round(time.perf_counter() - T0, 1),
    }
    text = json.dumps(report, indent=2, allow_nan=False)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    progress("done")


if __name__ == "__main__":
    main()
