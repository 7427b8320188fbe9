"""Evaluation figures as ``matplotlib.figure.Figure`` objects (no pyplot, no global state).

Save with ``fig.savefig(path)`` or log with ``mlflow.log_figure(fig, "name.png")``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from training.evaluate import OVERALL, Result


def reliability_figure(y: ArrayLike, p_by_label: Mapping[str, ArrayLike], bins: int = 10) -> Figure:
    """Reliability diagram: observed overrun rate against mean probability per equal-width bin.

    One line per label (non-empty bins only) beside the diagonal of perfect calibration, with
    the count of rows per bin below. Rows where a probability is NaN are left out of its line.
    """
    y_arr = np.asarray(y, dtype="float64")
    fig = Figure(figsize=(6.0, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(
        [0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated"
    )
    edges = np.linspace(0.0, 1.0, bins + 1)
    width = 1.0 / bins / max(len(p_by_label), 1)
    for i, (label, p) in enumerate(p_by_label.items()):
        p_arr = np.asarray(p, dtype="float64")
        ok = ~(np.isnan(p_arr) | np.isnan(y_arr))
        pk, yk = p_arr[ok], y_arr[ok]
        idx = np.clip((pk * bins).astype("int64"), 0, bins - 1)
        counts = np.bincount(idx, minlength=bins)
        filled = counts > 0
        mean_p = np.bincount(idx, weights=pk, minlength=bins)[filled] / counts[filled]
        rate = np.bincount(idx, weights=yk, minlength=bins)[filled] / counts[filled]
        (line,) = top.plot(mean_p, rate, marker="o", label=f"{label} (n={int(ok.sum())})")
        bottom.bar(
            edges[:-1] + i * width, counts, width=width, align="edge", color=line.get_color()
        )
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("observed overrun rate")
    top.set_title("Reliability")
    top.legend(loc="upper left", fontsize="small")
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("rows")
    return fig


def auc_by_stage_figure(result: Result, metric: str = "roc_auc") -> Figure:
    """Grouped bars of ``metric`` (ROC AUC by default): overall and each stage, one bar per scorer.

    An undefined value (e.g. a stage with one class) is drawn as no bar. A line at 0.5 marks
    a coin toss when the metric is ROC AUC.
    """
    groups = [(OVERALL, result["overall"]), *result.get("by_stage", {}).items()]
    labels = list(result["overall"])
    fig = Figure(figsize=(max(6.0, 1.6 * len(groups) + 2), 4.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(groups))
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        values = [float(metrics.get(label, {}).get(metric, np.nan)) for _, metrics in groups]
        ax.bar(x + (i - (len(labels) - 1) / 2) * width, values, width=width, label=label)
    if metric == "roc_auc":
        ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(x, [name for name, _ in groups])
    ax.set_ylim(0, 1)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by stage: model and baselines")
    fig.legend(fontsize="small", ncols=min(len(labels), 4), loc="outside lower center")
    return fig
