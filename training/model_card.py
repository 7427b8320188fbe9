"""Model cards: what a registered model was trained on, how well it did, and where it is weak.

``data_profile`` records facts of the labelled data while the split is at hand (sizes, label
periods, small categories, missing EVM, rows that cannot be scored); ``build_card`` turns a
fitted target (``training.train.TargetFit``) into a JSON-safe card: data period and size per
split, the target's definition and thresholds, metrics beside the baselines by stage, known
limitations written from those facts, and drift at training time when the current portfolio
was given. ``card_markdown`` renders it for people. Both are logged as run artifacts
(``model_card.json``, ``model_card.md``) and read back through the registry by the API.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.pipeline import insufficient_reason
from risk_model.config import target_kind
from training.drift import drift_records, flagged_features
from training.evaluate import OVERALL, STAGE_KEYS

if TYPE_CHECKING:
    from training.labels import Labelled, LabelledSplit
    from training.train import TargetFit

CARD_VERSION = 1
#: A category with fewer training projects than this is called small in the card.
SMALL_CATEGORY_PROJECTS = 20
#: Below this many positives in the test period the card warns that metrics are uncertain.
FEW_TEST_POSITIVES = 30
CARD_METRICS = ("roc_auc", "pr_auc", "brier", "ece", "n", "positives")
EVM_COLUMNS = ("cpi", "spi")


def _day(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(pd.Timestamp(value).date())


def _share(mask: pd.Series | np.ndarray) -> float:
    arr = np.asarray(mask, dtype=bool)
    return float(arr.mean()) if len(arr) else math.nan


def data_profile(labelled: Labelled, split: LabelledSplit) -> dict[str, Any]:
    """Facts of the labelled data and its split that a model card reports."""
    rows, y = labelled.rows, labelled.y
    as_of = pd.to_datetime(rows["as_of"])
    parts: dict[str, Any] = {}
    for name, mask in (("train", split.train), ("cal", split.cal), ("test", split.test)):
        sel = np.asarray(mask, dtype=bool)
        parts[name] = {
            "projects": int(rows.loc[sel, "project_id"].nunique()),
            "reports": int(sel.sum()),
            "positives": int(y[sel].sum()),
            "first_report": _day(as_of[sel].min()) if sel.any() else None,
            "last_report": _day(as_of[sel].max()) if sel.any() else None,
        }
    train = np.asarray(split.train, dtype=bool)
    seen = train | np.asarray(split.cal, dtype=bool)
    small: dict[str, int] = {}
    if "category" in rows.columns:
        per_category = (
            rows.loc[train].groupby(rows.loc[train, "category"].astype(str))["project_id"].nunique()
        )
        small = {str(k): int(v) for k, v in per_category.items() if v < SMALL_CATEGORY_PROJECTS}
    evm = [c for c in EVM_COLUMNS if c in rows.columns]
    no_evm = rows[evm].isna().all(axis=1) if evm else pd.Series(True, index=rows.index)
    unscorable = insufficient_reason(rows, labelled.target).notna()
    return {
        "projects": int(rows["project_id"].nunique()),
        "reports": len(rows),
        "first_report": _day(as_of.min()),
        "last_report": _day(as_of.max()),
        "seen_until": _day(labelled.label_date[seen].max()) if seen.any() else None,
        "splits": parts,
        "small_categories": small,
        "no_evm_share": _share(no_evm),
        "unscorable_share": _share(unscorable),
    }


def _metrics(block: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float | None]]:
    return {
        label: {
            k: (None if m.get(k) is None or not math.isfinite(m[k]) else round(float(m[k]), 4))
            for k in CARD_METRICS
        }
        for label, m in block.items()
    }


def _limitations(
    fit: TargetFit, profile: Mapping[str, Any], current: Mapping[str, Any]
) -> list[str]:
    """Known limitations, each from a fact of the data or the evaluation."""
    out: list[str] = []
    small = profile.get("small_categories") or {}
    if small:
        names = ", ".join(f"{k} ({v})" for k, v in sorted(small.items(), key=lambda kv: kv[1]))
        out.append(
            f"{len(small)} categor{'y has' if len(small) == 1 else 'ies have'} fewer than "
            f"{SMALL_CATEGORY_PROJECTS} training projects: {names}; their scores lean on the "
            "portfolio-wide pattern"
        )
    no_evm = profile.get("no_evm_share", math.nan)
    if isinstance(no_evm, float) and no_evm > 0:
        out.append(
            f"{no_evm:.0%} of labelled reports have no earned-value figures (CPI and SPI "
            "missing): the model relies on forecasts and trends there"
        )
    unscorable = profile.get("unscorable_share", math.nan)
    if isinstance(unscorable, float) and unscorable > 0:
        out.append(f"{unscorable:.0%} of labelled reports lack the baseline needed to score them")
    cur_unscorable = current.get("unscorable_share")
    if isinstance(cur_unscorable, float) and cur_unscorable > 0:
        out.append(
            f"{cur_unscorable:.0%} of the current portfolio's projects cannot be scored "
            "(no baseline)"
        )
    test = (profile.get("splits") or {}).get("test") or {}
    positives = int(test.get("positives", 0))
    if positives < FEW_TEST_POSITIVES:
        out.append(
            f"the test period holds only {positives} positive reports: its metrics are uncertain"
        )
    for stage, block in fit.evaluation["by_stage"].items():
        model_auc = block.get("model", {}).get("roc_auc", math.nan)
        rivals = {
            k: v.get("roc_auc", math.nan)
            for k, v in block.items()
            if k not in ("model", "oracle") and math.isfinite(v.get("roc_auc", math.nan))
        }
        if not rivals or not math.isfinite(model_auc):
            continue
        best, auc = max(rivals.items(), key=lambda kv: kv[1])
        if auc > model_auc:
            out.append(
                f"{stage}: the model's ROC-AUC ({model_auc:.3f}) is below the {best} "
                f"baseline's ({auc:.3f}) in the test period"
            )
    if target_kind(fit.target) == "forward":
        out.append(
            "labels need the whole forward window observed: the latest reports of every project "
            "are not yet labelled, so the newest behaviour is learnt last"
        )
    else:
        out.append(
            "learnt only from finished projects: active projects unlike any finished one "
            "(new categories, sizes) are extrapolated"
        )
    return out


def build_card(
    fit: TargetFit,
    *,
    drift: pd.DataFrame | None = None,
    current: Mapping[str, Any] | None = None,
    psi_threshold: float | None = None,
) -> dict[str, Any]:
    """The JSON-safe model card of one fitted target.

    ``drift`` is the training-time PSI frame against the current portfolio (``training.drift``)
    and ``current`` facts of that portfolio (``projects``, ``unscorable_share``); both optional.
    """
    profile = dict(fit.profile)
    current = dict(current or {})
    definition = {
        k: v
        for k, v in fit.params.items()
        if k
        in (
            "target",
            "target_kind",
            "threshold",
            "overrun_threshold",
            "horizon_months",
            "slip_days",
            "cost_growth",
            "split_fractions",
        )
    }
    if "split_fractions" in definition:
        definition["split_fractions"] = list(definition["split_fractions"])
    metrics = {
        OVERALL: _metrics(fit.evaluation["overall"]),
        **{STAGE_KEYS.get(s, s): _metrics(b) for s, b in fit.evaluation["by_stage"].items()},
    }
    return {
        "card_version": CARD_VERSION,
        "target": fit.target,
        "kind": target_kind(fit.target),
        "definition": definition,
        "data": {
            "period": {"first_report": fit.data_period[0], "last_report": fit.data_period[1]},
            **profile,
        },
        "metrics": metrics,
        "limitations": _limitations(fit, profile, current),
        "drift": {
            "measured": drift is not None,
            "threshold": psi_threshold,
            "current_projects": current.get("projects"),
            "flagged": flagged_features(drift) if drift is not None else [],
            "features": drift_records(drift) if drift is not None else [],
        },
    }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def card_markdown(card: Mapping[str, Any], *, version: str | None = None) -> str:
    """The card as Markdown: what, on which data, how well, limitations, drift."""
    data = card["data"]
    title = f"# Model card: {card['target']}" + (f" (version {version})" if version else "")
    lines = [title, ""]
    lines.append(f"**Target** ({card['kind']}):")
    lines += [f"- {k}: {v}" for k, v in card["definition"].items()]
    lines += ["", "## Data", ""]
    lines.append(
        f"{data.get('projects')} projects, {data.get('reports')} labelled reports from "
        f"{data['period']['first_report']} to {data['period']['last_report']}; labels known to "
        f"the model up to {data.get('seen_until')}."
    )
    lines += ["", "| split | projects | reports | positives | first report | last report |"]
    lines.append("|---|---|---|---|---|---|")
    for name, part in (data.get("splits") or {}).items():
        lines.append(
            f"| {name} | {part['projects']} | {part['reports']} | {part['positives']} | "
            f"{part['first_report'] or '-'} | {part['last_report'] or '-'} |"
        )
    lines += ["", "## Metrics on the test period, beside the baselines", ""]
    lines.append("| stage | scorer | ROC-AUC | PR-AUC | Brier | ECE | n |")
    lines.append("|---|---|---|---|---|---|---|")
    for stage, block in card["metrics"].items():
        for label, m in block.items():
            lines.append(
                f"| {stage} | {label} | {_cell(m['roc_auc'])} | {_cell(m['pr_auc'])} | "
                f"{_cell(m['brier'])} | {_cell(m['ece'])} | "
                f"{'-' if m['n'] is None else int(m['n'])} |"
            )
    lines += ["", "## Known limitations", ""]
    lines += [f"- {text}" for text in card["limitations"]] or ["- none recorded"]
    lines += ["", "## Drift at training time", ""]
    drift = card["drift"]
    if not drift["measured"]:
        lines.append("Not measured (no current portfolio was given at training).")
    else:
        flagged = drift["flagged"]
        lines.append(
            f"PSI against the current portfolio ({drift['current_projects']} active projects), "
            f"threshold {drift['threshold']}: "
            + (", ".join(flagged) + " over the threshold." if flagged else "no feature over it.")
        )
        top = [f for f in drift["features"] if f["psi"] is not None][:10]
        if top:
            lines += ["", "| feature | PSI | flagged |", "|---|---|---|"]
            lines += [
                f"| {f['feature']} | {f['psi']:.3f} | {'yes' if f['flagged'] else ''} |"
                for f in top
            ]
    return "\n".join(lines) + "\n"
