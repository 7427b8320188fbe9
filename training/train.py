"""Train, evaluate and register one calibrated risk model per target.

Flow per target: label the feature rows of finished projects (``targets``), split projects by
finish date (``splits``: earliest train, next calibrate, latest test), fit ``RiskClassifier``
on train with calibration on the later calibration projects, then score the test projects
beside the baselines a PMO already has (``baselines``) and, on simulated data, the oracle.
The model that is registered is exactly the model that was evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.pipeline import build_features, feature_columns
from model_registry.registry import DRIFT_REFERENCE_JSON, MODEL_CARD_JSON, MODEL_CARD_MD
from risk_model.config import TARGETS, Settings, target_kind
from risk_model.estimator import RiskClassifier, monotone_for
from risk_model.exceptions import InsufficientData
from risk_model.ranges import RANGE_COLUMNS, OverrunRange
from risk_model.risk_register import RegisterFrames
from training.baselines import fit_baselines
from training.coverage import size_baselines, size_metrics, size_table
from training.drift import drift_frame, drift_reference
from training.evaluate import Result, evaluate_target, flatten_metrics, metrics_table
from training.gain_scale import gain_scales
from training.labels import Labelled, LabelledSplit, labelled_rows, split_labelled
from training.model_card import build_card, card_markdown, data_profile

Progress = Callable[[str], None]

#: Directions the model must respect (+1: risk never falls as the feature rises; -1: never
#: rises). They encode what every PMO knows and make explanations consistent.
MONOTONE: dict[str, dict[str, int]] = {
    "schedule": {
        "spi_t": -1,
        "spi": -1,
        "forecast_slip": 1,
        "forecast_slip_change": 1,
        "forecast_slip_trend": 1,
        "ieac_t_share": 1,
    },
    "cost": {
        "cpi": -1,
        "cpi_trend": -1,
        "forecast_cost_growth": 1,
        "forecast_cost_growth_trend": 1,
        "eac_bac_cpi": 1,
        "eac_bac_composite": 1,
        "ac_share": 1,
    },
}

#: The index forecast each outcome model starts from when ``Settings.index_anchor`` is on
#: (``risk_model.anchor``): the ratio a PMO already reads for that overrun.
ANCHOR: dict[str, str] = {"schedule": "ieac_t_share", "cost": "eac_bac_cpi"}


@dataclass
class TargetFit:
    """A trained and evaluated model of one target, with what the registry logs about it."""

    target: str
    model: RiskClassifier
    evaluation: Result
    table: str
    metrics: dict[str, float]
    sizes: dict[str, int]
    test_frame: pd.DataFrame
    X_example: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    data_period: tuple[str, str] = ("", "")
    # issue 3 section 5: training distribution of each feature (``training.drift``) and facts
    # of the labelled data for the model card (``training.model_card.data_profile``).
    reference: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    # issue 3 section 4: P10 / P50 / P90 of the overrun size (outcome targets with enough
    # finished projects), fitted on the same split, and its test figures as a table.
    ranges: OverrunRange | None = None
    ranges_table: str = ""


def _noop(_: str) -> None:
    return None


def new_model(
    target: str, train: pd.DataFrame, columns: list[str], settings: Settings
) -> RiskClassifier:
    """The unfitted classifier of ``target`` for these training rows (``train``, with
    ``project_id``): the settings' hyper-parameters, the target's monotone directions and
    each feature's gain scale measured on the training rows only (``training.gain_scale``)
    and, for outcome targets, the index forecast it starts from (``ANCHOR``).
    The one constructor of ``pmo-risk train``, ``retrain`` and every backtest fold."""
    anchor = ANCHOR.get(target) if settings.index_anchor else None
    return RiskClassifier.from_settings(
        settings,
        monotone=monotone_for(MONOTONE.get(target, {}), columns),
        gain_scale=gain_scales(train, columns) if settings.project_gain_scale else None,
        anchor=anchor if anchor in columns else None,
    )


def fit_target(
    labelled: Labelled,
    settings: Settings,
    *,
    oracle: pd.DataFrame | None = None,
    progress: Progress = _noop,
) -> TargetFit:
    """Train, calibrate and evaluate the model of one target on a time-ordered split."""
    target = labelled.target
    split = split_labelled(labelled, settings.split_fractions)
    rows, y = labelled.rows, labelled.y
    for name, mask in (("training", split.train), ("calibration", split.cal), ("test", split.test)):
        if not mask.any() or y[mask].nunique() < 2:
            raise InsufficientData(
                f"{target}: the {name} part has no reports with both outcomes "
                f"({len(labelled)} labelled reports in all)"
            )
    train, cal, test = rows.loc[split.train], rows.loc[split.cal], rows.loc[split.test]
    sizes = split.sizes(labelled)
    columns = feature_columns(rows)
    model = new_model(target, train, columns, settings)
    progress(f"{target}: fitting on {len(train)} reports of {sizes['train_projects']} projects")
    model.fit(train[columns], y.loc[train.index], cal[columns], y.loc[cal.index])

    progress(f"{target}: evaluating on {len(test)} reports of {sizes['test_projects']} projects")
    frame = test[["project_id", "as_of", *columns]].copy()
    frame["y"] = y.loc[test.index].to_numpy()
    frame["p_model"] = model.predict_proba(test[columns])[:, 1]
    fitted = fit_baselines(
        rows, y, train_mask=split.train, target=target, threshold=settings.threshold(target)
    )
    scored = pd.concat([frame, fitted.transform(test)], axis=1)
    scorers = fitted.scorers()
    if oracle is not None and f"p_{target}_oracle" in oracle.columns:
        scored = scored.merge(
            oracle[["project_id", "as_of", f"p_{target}_oracle"]],
            on=["project_id", "as_of"],
            how="left",
        ).rename(columns={f"p_{target}_oracle": "p_oracle"})
        if scored["p_oracle"].notna().any():
            scorers["oracle"] = "p_oracle"
    evaluation = evaluate_target(scored, scorers)
    profile = data_profile(labelled, split)
    ranges: OverrunRange | None = None
    range_metrics: dict[str, float] = {}
    ranges_table = ""
    if target_kind(target) == "outcome":
        fitted_range = _fit_ranges(labelled, split, columns, settings, progress)
        if fitted_range is not None:
            ranges, range_metrics, ranges_table = fitted_range
    params = {
        **model.get_params(),
        "target": target,
        "target_kind": target_kind(target),
        "threshold": settings.threshold(target),
        "split_fractions": settings.split_fractions,
        **target_definition(target, settings),
        **sizes,
        "seen_until": profile["seen_until"],
    }
    return TargetFit(
        target=target,
        model=model,
        evaluation=evaluation,
        table=metrics_table(evaluation),
        metrics={**flatten_metrics(evaluation, "test"), **range_metrics},
        sizes=sizes,
        test_frame=scored,
        X_example=train[columns].head(5),
        params=params,
        data_period=(
            str(pd.to_datetime(rows["as_of"]).min().date()),
            str(pd.to_datetime(rows["as_of"]).max().date()),
        ),
        reference=drift_reference(train, columns),
        profile=profile,
        ranges=ranges,
        ranges_table=ranges_table,
    )


#: The fewest reports with a known overrun size that the range model trains / calibrates on.
MIN_RANGE_TRAIN_ROWS = 50
MIN_RANGE_CAL_ROWS = 20


def _fit_ranges(
    labelled: Labelled,
    split: LabelledSplit,
    columns: list[str],
    settings: Settings,
    progress: Progress,
) -> tuple[OverrunRange, dict[str, float], str] | None:
    """P10 / P50 / P90 of the overrun size on the classifier's split, with test figures.

    Rows whose size is known (finished projects) in the split's training part train the
    quantile boosters, those of the calibration part set the conformal shifts, and those of
    the test part measure coverage beside the index and PM forecasts. None (with a progress
    note) when too few finished reports hold a size.
    """
    from training.sizes import range_model

    target = labelled.target
    known = labelled.ratio.notna().to_numpy()
    train, cal, test = split.train & known, split.cal & known, split.test & known
    if train.sum() < MIN_RANGE_TRAIN_ROWS or cal.sum() < MIN_RANGE_CAL_ROWS or not test.any():
        progress(
            f"{target}: no overrun range (reports with a known size: {int(train.sum())} to "
            f"train, {int(cal.sum())} to calibrate, {int(test.sum())} to test)"
        )
        return None
    rows, ratio = labelled.rows, labelled.ratio
    progress(f"{target}: fitting the P10/P50/P90 overrun range on {int(train.sum())} reports")
    model = range_model(target, columns, settings)
    model.fit(rows.loc[train, columns], ratio[train], rows.loc[cal, columns], ratio[cal])
    test_rows = rows.loc[test]
    pred = model.predict(test_rows[columns]).reset_index(drop=True)
    baselines = {k: v.reset_index(drop=True) for k, v in size_baselines(test_rows, target).items()}
    evaluation = size_metrics(
        ratio[test].reset_index(drop=True),
        pred[list(RANGE_COLUMNS)],
        baselines,
        test_rows["elapsed_share"].reset_index(drop=True),
    )
    return model, flatten_metrics(evaluation, "size"), size_table(evaluation)


def target_definition(target: str, settings: Settings) -> dict[str, Any]:
    """The parameters that define a target's label, for run params and model cards."""
    if target_kind(target) == "forward":
        return {
            "horizon_months": settings.forward_horizon_months,
            "slip_days": settings.forward_slip_days,
            "cost_growth": settings.forward_cost_growth,
        }
    return {"overrun_threshold": settings.threshold(target)}


def train_portfolio(
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    settings: Settings,
    *,
    oracle: pd.DataFrame | None = None,
    targets: Sequence[str] = TARGETS,
    progress: Progress = _noop,
    register: RegisterFrames | None = None,
) -> dict[str, TargetFit]:
    """Features once, then one fitted and evaluated model per target.

    ``register``: the risk register's dated entries (the ``register_*`` features).
    """
    progress(f"building features for {len(snapshots)} reports of {len(projects)} projects")
    features = build_features(projects, snapshots, register=register)
    return {
        t: fit_target(
            labelled_rows(features, projects, snapshots, t, settings),
            settings,
            oracle=oracle,
            progress=progress,
        )
        for t in targets
    }


def log_and_register(
    fits: Mapping[str, TargetFit],
    registry: Any,
    *,
    promote: bool = False,
    progress: Progress = _noop,
    current: pd.DataFrame | None = None,
    psi_threshold: float | None = None,
) -> dict[str, str]:
    """Log each fit as an MLflow run with its plots, register it, optionally promote it.

    A new version becomes ``challenger``; the first version of a model also ``champion``.
    ``current`` (the current portfolio's feature rows, ``training.drift.current_rows``) adds
    drift at training time to each model card. Returns target -> registered version.
    """
    versions: dict[str, str] = {}
    for target, fit in fits.items():
        progress(f"{target}: logging run and registering model")
        run_id = log_fit(fit, registry, current=current, psi_threshold=psi_threshold)
        version = registry.register(run_id, target)
        if promote:
            registry.promote(target, version)
        versions[target] = version
    return versions


def card_for(
    fit: TargetFit,
    *,
    current: pd.DataFrame | None = None,
    psi_threshold: float | None = None,
) -> dict[str, Any]:
    """The model card of a fit, with drift against ``current`` rows when given."""
    from features.pipeline import insufficient_reason

    threshold = psi_threshold if psi_threshold is not None else _default_psi_threshold()
    if current is None or fit.reference == {}:
        return build_card(fit, psi_threshold=threshold)
    drift = drift_frame(fit.reference, current, threshold=threshold)
    facts: dict[str, Any] = {"projects": int(current["project_id"].nunique())}
    if len(current):
        facts["unscorable_share"] = float(insufficient_reason(current, fit.target).notna().mean())
    return build_card(fit, drift=drift, current=facts, psi_threshold=threshold)


def _default_psi_threshold() -> float:
    return float(Settings.model_fields["psi_threshold"].default)


def log_fit(
    fit: TargetFit,
    registry: Any,
    *,
    current: pd.DataFrame | None = None,
    psi_threshold: float | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Log one fit as an MLflow run: params, metrics, plots, metrics table, model card and the
    drift reference (``drift_reference.json``). Returns the run id; registers nothing."""
    import json

    from risk_model.explain import shap_summary_figure
    from training.plots import auc_by_stage_figure, reliability_figure

    test = fit.test_frame
    probs = {"model": test["p_model"].to_numpy()}
    if "p_oracle" in test.columns:
        probs["oracle"] = test["p_oracle"].to_numpy()
    columns = list(fit.model.feature_names_in_)
    sample = test[columns].head(2000)
    figures = {
        "calibration": reliability_figure(test["y"].to_numpy(), probs),
        "auc_by_stage": auc_by_stage_figure(fit.evaluation),
        "shap_summary": shap_summary_figure(fit.model, sample),
    }
    card = card_for(fit, current=current, psi_threshold=psi_threshold)
    texts = {
        "metrics_table.txt": fit.table,
        MODEL_CARD_JSON: json.dumps(card, indent=2, default=str),
        MODEL_CARD_MD: card_markdown(card),
    }
    if fit.reference:
        texts[DRIFT_REFERENCE_JSON] = json.dumps(fit.reference)
    if fit.ranges_table:
        texts["overrun_range_table.txt"] = fit.ranges_table
    try:
        return str(
            registry.log_training(
                target=fit.target,
                model=fit.model,
                X_example=fit.X_example,
                params=fit.params,
                metrics=fit.metrics,
                feature_names=columns,
                ranges=fit.ranges,
                figures=figures,
                texts=texts,
                tags={
                    "pmo_risk.threshold": str(fit.params.get("threshold")),
                    "pmo_risk.drift_flagged": ",".join(card["drift"]["flagged"]),
                    **(tags or {}),
                },
            )
        )
    finally:
        _close(figures.values())


def _close(figures: Any) -> None:
    import matplotlib.pyplot as plt

    for fig in figures:
        plt.close(fig)


def headline(fit: TargetFit) -> dict[str, float]:
    """Overall ROC-AUC and Brier of the model and each baseline, for one-line summaries."""
    return {
        f"{label}.{m}": float(metrics.get(m, np.nan))
        for label, metrics in fit.evaluation["overall"].items()
        for m in ("roc_auc", "brier")
    }
