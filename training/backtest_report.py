"""The backtest as a PMO reads it: one JSON file with every figure, one self-contained HTML page.

The HTML embeds its plots as base64 PNGs and its style inline: it opens offline, from a mail
attachment or a file share, with no script and no network. ``write_report`` writes both files;
``log_report`` logs them (and the flat metrics) to an MLflow run.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from model_registry.registry import BACKTEST_EXPERIMENT
from training.backtest import Backtest
from training.evaluate import OVERALL, STAGES
from training.plots import auc_by_stage_figure, reliability_figure

SHOWN = ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "n")
LOWER_IS_BETTER = {"brier", "log_loss", "ece"}
TITLES = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "log_loss": "Log loss",
    "ece": "Calibration error",
    "n": "Reports",
}
EXPLAIN = {
    "model": "pmo-risk's calibrated model",
    "evm_rule": "EVM/earned-schedule rule: SPI(t) or CPI below 0.9",
    "index_forecast": "Index forecast: IEAC(t) = PD/SPI(t), or EAC = BAC/CPI",
    "composite_eac": "Composite EAC = AC + (BAC − EV)/(CPI × SPI)",
    "pm_forecast": "The project's own current forecast: it will finish when the PM says",
    "recent_moves": "The forecast has been moving lately, so it will move again",
    "base_rate": "Reference class: overrun rate of the project's category in training",
    "oracle": "Simulator's true probability (synthetic data only): the best achievable",
}


def report_dict(
    backtests: Mapping[str, Backtest], *, title: str, meta: Mapping[str, Any]
) -> dict[str, Any]:
    """Every figure of every target's backtest, JSON-ready."""
    return {
        "title": title,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **dict(meta),
        "targets": {t: bt.to_dict() for t, bt in backtests.items()},
    }


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def reliability_probabilities(bt: Backtest) -> dict[str, np.ndarray]:
    """The probabilities a reliability diagram compares: the model's, the index forecast's and,
    on synthetic data, the oracle's (those the backtest has), by label."""
    probs = {"model": bt.scored["p_model"].to_numpy()}
    for label, col in (("index forecast", "index_forecast_p"), ("oracle", "p_oracle")):
        if col in bt.scored.columns:
            probs[label] = bt.scored[col].to_numpy()
    return probs


def lead_time_figure(early_warning: Mapping[str, Any]) -> Figure:
    """Histogram of warning lead times (months before baseline finish), model vs EVM rule."""
    fig = Figure(figsize=(6.5, 3.8), layout="constrained")
    ax = fig.subplots()
    series = {
        label: np.asarray(early_warning[label]["lead_months"], dtype="float64")
        for label in ("model", "evm_rule")
        if label in early_warning and early_warning[label]["lead_months"]
    }
    if series:
        lo = min(float(v.min()) for v in series.values())
        hi = max(float(v.max()) for v in series.values())
        bins = np.linspace(math.floor(lo), math.ceil(hi) + 1, 20).tolist()
        for label, values in series.items():
            ax.hist(
                values, bins=bins, alpha=0.55, label=f"{label} (median {np.median(values):.1f})"
            )
        ax.legend(fontsize="small")
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("months of warning before the baseline finish (alarm stayed on from then)")
    ax.set_ylabel("projects that overran")
    ax.set_title("Early-warning lead time")
    return fig


def _fmt(value: Any, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric == "n":
        return f"{int(value):,}"
    return f"{float(value):.3f}"


def _metrics_table(groups: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """One table: a block of rows per group (overall, stages), one row per scorer."""
    head = "".join(f"<th>{TITLES[m]}</th>" for m in SHOWN)
    rows = []
    for group, scorers in groups.items():
        best: dict[str, float] = {}
        for m in SHOWN[:-1]:
            vals = [
                float(v)
                for v in (s.get(m) for s in scorers.values())
                if v is not None and not math.isnan(float(v))
            ]
            if vals:
                best[m] = min(vals) if m in LOWER_IS_BETTER else max(vals)
        for i, (label, metrics) in enumerate(scorers.items()):
            cells = []
            for m in SHOWN:
                v = metrics.get(m)
                mark = (
                    ' class="best"'
                    if m in best and v is not None and float(v) == best[m] and label != "oracle"
                    else ""
                )
                cells.append(f"<td{mark}>{_fmt(v, m)}</td>")
            group_cell = f'<th rowspan="{len(scorers)}">{html.escape(group)}</th>' if i == 0 else ""
            rows.append(
                f'<tr>{group_cell}<td title="{html.escape(EXPLAIN.get(label, label))}">'
                f"{html.escape(label)}</td>{''.join(cells)}</tr>"
            )
    return (
        f"<table><thead><tr><th>Stage</th><th>Forecast</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _warning_html(ew: Mapping[str, Any]) -> str:
    rows = []
    for label in ("model", "evm_rule"):
        if label not in ew:
            continue
        e = ew[label]
        rows.append(
            f"<tr><td>{label}</td><td>{e['warned']} of {e['overran_projects']} "
            f"({_pct(e['warned_share'])})</td><td>{_num(e['median_lead_months'])}</td>"
            f"<td>{_pct(e['false_alarm_rate'])}</td><td>{_pct(e['false_alarm_rate_sustained'])}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Alarm</th><th>Overruns warned</th><th>Median lead (months)</th>"
        "<th>False alarms (any report)</th><th>False alarms (still on at last report)</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _pct(v: Any) -> str:
    return (
        "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * float(v):.0f}%"
    )


def _num(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.1f}"


def _size_html(size: Mapping[str, Any]) -> str:
    overall = size.get(OVERALL, {})
    model = overall.get("model", {})
    rows = [
        f"<tr><td>model P50</td><td>{_fmt(model.get('mae'), 'mae')}</td>"
        f"<td>{_fmt(model.get('mape'), 'mape')}</td><td>{_fmt(model.get('n'), 'n')}</td></tr>"
    ]
    for label, m in overall.items():
        if label == "model":
            continue
        rows.append(
            f"<tr><td>{html.escape(label)}</td><td>{_fmt(m.get('mae'), 'mae')}</td>"
            f"<td>{_fmt(m.get('mape'), 'mape')}</td><td>{_fmt(m.get('n'), 'n')}</td></tr>"
        )
    return (
        "<p>Predicted overrun ratio (P50) against the index forecasts. The P10–P90 range held "
        f"<b>{_pct(model.get('p10_p90_coverage'))}</b> of outcomes (an honest range holds ~80%); "
        f"{_pct(model.get('below_p10'))} fell below P10 and {_pct(model.get('above_p90'))} "
        "above P90.</p><table><thead><tr><th>Forecast</th><th>MAE</th><th>MAPE</th>"
        f"<th>Reports</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _summary(bt: Backtest) -> str:
    overall = bt.evaluation["overall"]
    model = overall.get("model", {})
    others = {k: v for k, v in overall.items() if k not in ("model", "oracle")}
    best_other = max(others.items(), key=lambda kv: _nan0(kv[1].get("roc_auc")), default=None)
    parts = [
        f"Over {len(bt.scored):,} reports of {bt.scored['project_id'].nunique():,} projects "
        f"scored at {len(bt.cutoffs)} cut-offs, the model's ROC-AUC was "
        f"<b>{_fmt(model.get('roc_auc'), 'roc_auc')}</b> and its Brier score "
        f"<b>{_fmt(model.get('brier'), 'brier')}</b>."
    ]
    if best_other:
        name, m = best_other
        parts.append(
            f" The best baseline on ranking was <i>{html.escape(name)}</i> "
            f"(ROC-AUC {_fmt(m.get('roc_auc'), 'roc_auc')}, Brier {_fmt(m.get('brier'), 'brier')})."
        )
    if "oracle" in overall:
        parts.append(
            f" The simulator's oracle reached {_fmt(overall['oracle'].get('roc_auc'), 'roc_auc')}."
        )
    return "<p>" + "".join(parts) + "</p>"


def _nan0(v: Any) -> float:
    return -1.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def render_html(backtests: Mapping[str, Backtest], *, title: str, meta: Mapping[str, Any]) -> str:
    """A self-contained HTML report (inline CSS, plots as data URIs, no script)."""
    sections = []
    for target, bt in backtests.items():
        groups = {
            OVERALL: bt.evaluation["overall"],
            **{s: bt.evaluation["by_stage"][s] for s in STAGES},
        }
        rel = reliability_figure(bt.scored["y"].to_numpy(), reliability_probabilities(bt))
        auc = auc_by_stage_figure(bt.evaluation)
        figs = [
            f'<figure><img alt="Reliability diagram of {target}" src="{_png(rel)}"></figure>',
            f'<figure><img alt="ROC-AUC by stage of {target}" src="{_png(auc)}"></figure>',
        ]
        warning = ""
        if bt.early_warning:
            lead = lead_time_figure(bt.early_warning)
            figs.append(f'<figure><img alt="Lead time of {target}" src="{_png(lead)}"></figure>')
            warning = (
                f"<h3>Early warning (alarm at p ≥ {bt.early_warning['threshold']:.2f})</h3>"
                + _warning_html(bt.early_warning)
            )
        size = f"<h3>Overrun size</h3>{_size_html(bt.sizes)}" if bt.sizes else ""
        folds = "".join(
            f"<tr><td>{f.cutoff.date()}</td><td>{f.until.date()}</td><td>{f.train_projects}</td>"
            f"<td>{f.train_rows}</td><td>{f.test_projects}</td><td>{f.test_rows}</td>"
            f"<td>{html.escape(f.skipped or '')}</td></tr>"
            for f in bt.folds
        )
        definition = ", ".join(f"{k} = {v}" for k, v in bt.definition.items())
        sections.append(
            f"<section><h2>{html.escape(target)} ({bt.kind} target)</h2>"
            f'<p class="def">{html.escape(definition)}</p>{_summary(bt)}'
            f"<h3>Metrics beside the baselines, by stage</h3>{_metrics_table(groups)}"
            f'<div class="figs">{"".join(figs)}</div>{warning}{size}'
            "<h3>Cut-offs</h3><table><thead><tr><th>Trained on history to</th><th>Scored to</th>"
            "<th>Training projects</th><th>Training reports</th><th>Scored projects</th>"
            f"<th>Scored reports</th><th>Skipped</th></tr></thead><tbody>{folds}</tbody></table>"
            "</section>"
        )
        for fig in (rel, auc):
            fig.clear()
    legend = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in EXPLAIN.items()
    )
    info = "".join(
        f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in meta.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,Segoe UI,Arial,sans-serif;margin:2rem auto;max-width:1100px;
color:#1b1b1b;line-height:1.45}}
table{{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.92rem}}
th,td{{border:1px solid #bbb;padding:.25rem .55rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}
td.best{{font-weight:700;background:#e6f2e6}}
.figs{{display:flex;flex-wrap:wrap;gap:1rem}} figure{{margin:0}} img{{max-width:520px}}
.def{{color:#444;font-size:.9rem}} section{{border-top:2px solid #333;margin-top:2rem}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>A rolling-origin backtest: at each cut-off the model was trained only on what was known
then, and scored the reports made until the next cut-off; every figure below compares those
scores with what happened, beside the forecasts a PMO already has, on the same reports.
Bold cells are the best of each column within a stage (the oracle aside).</p>
<ul>{info}</ul>
{"".join(sections)}
<h2>What the forecasts are</h2><ul>{legend}</ul>
<p>Calibration error is the expected calibration error over ten equal-width bins; rules and
index forecasts are turned into probabilities by their hit rates in the training period.</p>
</body></html>
"""


def write_report(
    backtests: Mapping[str, Backtest],
    folder: Path,
    *,
    title: str,
    meta: Mapping[str, Any],
) -> tuple[Path, Path]:
    """Write ``backtest.json`` and ``backtest.html`` into ``folder``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "backtest.json"
    html_path = folder / "backtest.html"
    json_path.write_text(
        json.dumps(report_dict(backtests, title=title, meta=meta), indent=2, allow_nan=False),
        encoding="utf-8",
    )
    html_path.write_text(render_html(backtests, title=title, meta=meta), encoding="utf-8")
    return json_path, html_path


def log_report(
    backtests: Mapping[str, Backtest],
    paths: tuple[Path, Path],
    *,
    tracking_uri: str,
    artifact_root: Path,
    params: Mapping[str, Any],
) -> str:
    """Log the flat metrics and both files to an MLflow run of experiment ``pmo-risk-backtest``."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    name = BACKTEST_EXPERIMENT
    exp = client.get_experiment_by_name(name)
    exp_id = (
        exp.experiment_id
        if exp
        else client.create_experiment(name, artifact_location=artifact_root.as_uri())
    )
    run = client.create_run(exp_id, run_name="backtest", tags={"pmo_risk.kind": "backtest"})
    run_id = run.info.run_id
    try:
        for key, value in params.items():
            client.log_param(run_id, key, str(value)[:500])
        for bt in backtests.values():
            for key, value in bt.metrics().items():
                client.log_metric(run_id, key.replace("(", "").replace(")", ""), float(value))
        for path in paths:
            client.log_artifact(run_id, str(path))
        client.set_terminated(run_id, "FINISHED")
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    return run_id
