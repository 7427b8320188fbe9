"""Metrics of the model beside the baselines, overall and by project stage.

Stage is the elapsed share of planned duration at the report: early (< 0.3), mid (0.3 to
< 0.7), late (>= 0.7). Rows with unknown elapsed share count only in "overall".

Every scorer is measured on the rows where it gives a score (NaN scores are left out and the
``n`` / ``coverage`` columns say how many were used). A scorer is either one column (used for
ranking and, when it is a probability, for Brier / log loss / ECE) or a pair
``(rank_column, probability_column)``: a rule or an index forecast ranks with its own score
and is scored as a probability through its training hit rates (see ``training.baselines``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TypedDict

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

OVERALL = "overall"
STAGES: tuple[str, str, str] = ("early (<30%)", "mid (30–70%)", "late (>70%)")
STAGE_KEYS: dict[str, str] = {STAGES[0]: "early", STAGES[1]: "mid", STAGES[2]: "late"}
STAGE_CUTS: tuple[float, float] = (0.3, 0.7)
METRICS: tuple[str, ...] = (
    "roc_auc",
    "pr_auc",
    "brier",
    "log_loss",
    "ece",
    "n",
    "positives",
    "rate",
)
LOG_LOSS_EPS = 1e-15

Metrics = dict[str, float]
Scorer = str | tuple[str, str]


class Result(TypedDict):
    """What ``evaluate_target`` returns: metrics per scorer, overall and per stage."""

    overall: dict[str, Metrics]
    by_stage: dict[str, dict[str, Metrics]]


def expected_calibration_error(y: ArrayLike, p: ArrayLike, bins: int = 10) -> float:
    """Count-weighted mean |observed rate - mean probability| over equal-width bins of [0, 1]."""
    y_arr = np.asarray(y, dtype="float64")
    p_arr = np.asarray(p, dtype="float64")
    if len(y_arr) == 0:
        return math.nan
    idx = np.clip((p_arr * bins).astype("int64"), 0, bins - 1)
    total = 0.0
    for b in np.unique(idx):
        in_bin = idx == b
        total += in_bin.sum() * abs(y_arr[in_bin].mean() - p_arr[in_bin].mean())
    return float(total / len(y_arr))


def ece_noise_floor(
    p: ArrayLike,
    groups: ArrayLike | None = None,
    *,
    draws: int = 200,
    seed: int = 0,
) -> float:
    """Mean ECE of a perfectly calibrated predictor ``p`` on these rows: sampling noise alone.

    Each draw gives every row an outcome that happens with probability ``p`` and measures
    ``expected_calibration_error`` of ``p`` against it; the mean over ``draws`` (fixed
    ``seed``) is the calibration error a perfect model would still show on as many rows.
    Without ``groups`` rows draw independently. With ``groups`` (e.g. project ids) the rows of
    one group share one uniform draw (outcome = ``u < p``): every row is still right on
    average, but a project's reports share one outcome, as they do in the data, so the floor
    is higher. NaN probabilities are left out. NaN for no rows.
    """
    rng = np.random.default_rng(seed)
    p_arr = np.asarray(p, dtype="float64")
    ok = ~np.isnan(p_arr)
    p_arr = p_arr[ok]
    if len(p_arr) == 0:
        return math.nan
    if groups is None:
        codes = np.arange(len(p_arr))
    else:
        codes = pd.factorize(pd.Series(np.asarray(groups)[ok]), sort=False)[0]
    n_groups = int(codes.max()) + 1
    total = 0.0
    for _ in range(draws):
        u = rng.random(n_groups)[codes]
        total += expected_calibration_error((u < p_arr).astype("float64"), p_arr)
    return total / draws


def classification_metrics(y: ArrayLike, p: ArrayLike) -> Metrics:
    """ROC AUC, PR AUC (average precision), Brier, log loss, ECE, n, positives, rate.

    Rows where ``p`` (or ``y``) is NaN are left out. AUCs are NaN when only one class is
    present; Brier, log loss and ECE are NaN when ``p`` is not a probability (outside [0, 1]).
    Log loss clips ``p`` to [1e-15, 1 - 1e-15]. Never raises on a single class or no rows.
    """
    y_arr = np.asarray(y, dtype="float64")
    p_arr = np.asarray(p, dtype="float64")
    if y_arr.shape != p_arr.shape:
        raise ValueError(f"y and p differ in shape: {y_arr.shape} vs {p_arr.shape}")
    ok = ~(np.isnan(y_arr) | np.isnan(p_arr))
    y_arr, p_arr = y_arr[ok].astype("int64"), p_arr[ok]
    n = len(y_arr)
    positives = int(y_arr.sum())
    out: Metrics = dict.fromkeys(METRICS, math.nan)
    out.update(n=float(n), positives=float(positives), rate=positives / n if n else math.nan)
    if n == 0:
        return out
    if 0 < positives < n:
        out["roc_auc"] = float(roc_auc_score(y_arr, p_arr))
        out["pr_auc"] = float(average_precision_score(y_arr, p_arr))
    if np.all((p_arr >= 0) & (p_arr <= 1)):
        out["brier"] = float(brier_score_loss(y_arr, p_arr, labels=[0, 1]))
        clipped = np.clip(p_arr, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
        out["log_loss"] = float(log_loss(y_arr, clipped, labels=[0, 1]))
        out["ece"] = expected_calibration_error(y_arr, p_arr)
    return out


def stage_of(elapsed_share: pd.Series | ArrayLike) -> pd.Series:
    """Stage label per row from elapsed share of planned duration; None where unknown."""
    if isinstance(elapsed_share, pd.Series):
        share = pd.to_numeric(elapsed_share).astype("float64")
    else:
        share = pd.Series(np.asarray(elapsed_share, dtype="float64"))
    early, late = STAGE_CUTS
    labels = [
        None if math.isnan(x) else STAGES[0] if x < early else STAGES[1] if x < late else STAGES[2]
        for x in share.to_numpy()
    ]
    return pd.Series(labels, index=share.index, dtype="object", name="stage")


def _columns(scorer: Scorer) -> tuple[str, str]:
    return (scorer, scorer) if isinstance(scorer, str) else scorer


def _metrics_on(frame: pd.DataFrame, scorer: Scorer) -> Metrics:
    rank_col, prob_col = _columns(scorer)
    y = frame["y"].to_numpy(dtype="float64")
    out = classification_metrics(y, frame[rank_col].to_numpy(dtype="float64"))
    if prob_col != rank_col:
        prob = classification_metrics(y, frame[prob_col].to_numpy(dtype="float64"))
        for key in ("brier", "log_loss", "ece"):
            out[key] = prob[key]
    out["coverage"] = out["n"] / len(frame) if len(frame) else math.nan
    return out


def evaluate_target(frame: pd.DataFrame, scores: Mapping[str, Scorer]) -> Result:
    """Metrics per scorer, overall and per stage, on the same rows of ``frame``.

    ``frame`` has ``y`` (0/1), ``p_model``, ``elapsed_share`` and every column named in
    ``scores`` (label -> column, or label -> (rank column, probability column)). The model
    (``p_model``) is always included first, under the label ``"model"``, unless ``scores``
    names a ``"model"`` itself. A 0/1 rule column is ranked as is (ties and all). Each other
    scorer also carries ``model_roc_auc_same_rows``, the model's ROC-AUC on the rows that
    scorer ranks, so a baseline with partial coverage is compared on the same rows.
    Returns ``{"overall": {label: metrics}, "by_stage": {stage: {label: metrics}}}``.
    """
    scorers: dict[str, Scorer] = {"model": "p_model", **dict(scores)}
    missing = [c for s in scorers.values() for c in _columns(s) if c not in frame.columns]
    missing += [c for c in ("y", "elapsed_share") if c not in frame.columns]
    if missing:
        raise KeyError(f"evaluation frame lacks columns: {', '.join(sorted(set(missing)))}")
    stage = stage_of(frame["elapsed_share"])
    model_col = _columns(scorers["model"])[0]
    overall = {label: _paired(frame, s, model_col) for label, s in scorers.items()}
    by_stage = {
        name: {
            label: _paired(frame.loc[(stage == name).to_numpy()], s, model_col)
            for label, s in scorers.items()
        }
        for name in STAGES
    }
    return Result(overall=overall, by_stage=by_stage)


def _paired(frame: pd.DataFrame, scorer: Scorer, model_col: str) -> Metrics:
    """A scorer's metrics plus ``model_roc_auc_same_rows``: the model's ROC-AUC on exactly
    the rows this scorer ranks (a baseline with no score on some rows is ranked on fewer rows
    than the model; its Brier already covers every row through its "no score" rate)."""
    out = _metrics_on(frame, scorer)
    rank_col = _columns(scorer)[0]
    if rank_col != model_col:
        ranked = frame[rank_col].notna().to_numpy()
        y = frame["y"].to_numpy(dtype="float64")[ranked]
        p = frame[model_col].to_numpy(dtype="float64")[ranked]
        out["model_roc_auc_same_rows"] = classification_metrics(y, p)["roc_auc"]
    return out


def _groups(result: Result) -> list[tuple[str, dict[str, Metrics]]]:
    """(stage name, {label: metrics}) in display order: overall first, then each stage."""
    groups = [(OVERALL, result["overall"])]
    groups += list(result.get("by_stage", {}).items())
    return groups


def _fmt(value: float, digits: int = 3) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def metrics_table(result: Result) -> str:
    """Fixed-width text table: one row per (stage, scorer); AUC, PR-AUC, Brier, LogLoss, ECE, n."""
    groups = _groups(result)
    labels = [label for _, metrics in groups for label in metrics]
    stage_w = max(len("Stage"), *(len(name) for name, _ in groups))
    label_w = max(len("Scorer"), *(len(label) for label in labels)) if labels else 6
    cols = ("AUC", "PR-AUC", "Brier", "LogLoss", "ECE")
    head = f"{'Stage':<{stage_w}}  {'Scorer':<{label_w}}" + "".join(f"{c:>9}" for c in cols)
    head += f"{'n':>8}"
    lines = [head, "-" * len(head)]
    for name, metrics in groups:
        for i, (label, m) in enumerate(metrics.items()):
            stage = name if i == 0 else ""
            row = f"{stage:<{stage_w}}  {label:<{label_w}}"
            row += "".join(
                f"{_fmt(m.get(k, math.nan)):>9}"
                for k in ("roc_auc", "pr_auc", "brier", "log_loss", "ece")
            )
            n = m.get("n", math.nan)
            row += f"{'-' if math.isnan(n) else int(n):>8}"
            lines.append(row)
    return "\n".join(lines)


_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./ ]+")


def _key(part: str) -> str:
    """An MLflow-safe key part: stage names shortened, other characters replaced by '_'."""
    part = STAGE_KEYS.get(part, part)
    return _UNSAFE.sub("_", part).strip("_ ") or "_"


def flatten_metrics(result: Result, prefix: str) -> dict[str, float]:
    """``{"<prefix>.<stage>.<scorer>.<metric>": value}`` with MLflow-safe keys.

    Stage is ``overall``, ``early``, ``mid`` or ``late``; non-finite values are left out
    (MLflow charts cannot draw them; a missing key means "not defined", e.g. AUC of one class).
    """
    out: dict[str, float] = {}
    head = f"{_key(prefix)}." if prefix else ""
    for name, metrics in _groups(result):
        for label, m in metrics.items():
            for metric, value in m.items():
                if value is not None and math.isfinite(value):
                    out[f"{head}{_key(name)}.{_key(label)}.{_key(metric)}"] = float(value)
    return out
