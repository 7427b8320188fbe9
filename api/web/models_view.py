"""The model page's data: versions, metrics by stage beside baselines, artifacts, drift."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from api.services import ModelState
from model_registry.registry import ModelInfo, ModelRegistry
from risk_model.config import TARGETS, Settings

STAGE_ORDER = ("overall", "early", "mid", "late")
METRICS = (("roc_auc", "ROC-AUC"), ("brier", "Brier"), ("ece", "ECE"))
TEXT_SUFFIXES = (".md", ".txt", ".json")


def nest_metrics(
    flat: dict[str, float], prefix: str = "test"
) -> dict[str, dict[str, dict[str, float]]]:
    """``test.<stage>.<scorer>.<metric>`` -> {stage: {scorer: {metric: value}}}."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, value in flat.items():
        parts = key.split(".")
        if len(parts) != 4 or parts[0] != prefix:
            continue
        _, stage, scorer, metric = parts
        out.setdefault(stage, {}).setdefault(scorer, {})[metric] = value
    return out


@dataclass
class VersionView:
    info: ModelInfo
    metrics: dict[str, dict[str, dict[str, float]]]
    plots: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)


@dataclass
class TargetView:
    target: str
    champion: VersionView | None
    challenger: VersionView | None
    others: list[ModelInfo]
    stages: list[str]
    scorers: list[str]


@dataclass
class DriftView:
    """The latest drift check of a loaded model (PSI per feature, training time or retrain)."""

    target: str
    version: str
    source: str
    """``retrain`` (the latest ``pmo-risk retrain`` check), ``training`` or ``none``."""
    checked_at: str | None
    flagged: list[tuple[str, float | None]]
    """Features over the PSI threshold with their PSI, worst first."""
    highest: tuple[str, float] | None
    """The feature with the highest PSI (when nothing is flagged)."""
    features: int
    error: str | None = None


@dataclass
class ModelPage:
    targets: list[TargetView]
    metric_names: tuple[tuple[str, str], ...] = METRICS
    error: str | None = None
    drift: list[DriftView] = field(default_factory=list)
    psi_threshold: float = 0.0


def _psi(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v == v else None


def drift_view(registry: ModelRegistry, target: str, version: str) -> DriftView:
    """The flagged features of a version's latest drift check with their PSI."""
    try:
        card = registry.model_card(target, version)
    except Exception as exc:  # an unreadable card must not break the page
        return DriftView(target, version, "none", None, [], None, 0, f"cannot read: {exc}")
    psi = {str(f.get("feature")): _psi(f.get("psi")) for f in card.drift}
    flagged = sorted(((f, psi.get(f)) for f in card.drift_flagged), key=lambda x: -(x[1] or 0.0))
    known = [(f, v) for f, v in psi.items() if v is not None]
    highest = max(known, key=lambda x: x[1]) if known else None
    return DriftView(
        target, version, card.drift_source, card.drift_checked_at, flagged, highest, len(psi)
    )


def _version(registry: ModelRegistry, info: ModelInfo) -> VersionView:
    paths = registry.run_artifact_paths(info.run_id)
    plots = [p for p in paths if p.endswith(".png")]
    texts: dict[str, str] = {}
    for p in paths:
        if p.endswith(TEXT_SUFFIXES) and p != "features.json" and not p.startswith("model/"):
            body = registry.run_artifact_text(info.run_id, p)
            if body is not None:
                if p.endswith(".json"):
                    with contextlib.suppress(ValueError):
                        body = json.dumps(json.loads(body), indent=2)
                texts[p] = body[:20_000]
    return VersionView(info, nest_metrics(info.metrics), plots, texts)


def model_page(settings: Settings, models: ModelState) -> ModelPage:
    """Every target's champion and challenger with their metrics, plots and text artifacts,
    and the drift flags of each loaded version."""
    registry = ModelRegistry.from_settings(settings)
    try:
        infos = registry.list_models()
    except Exception as exc:  # an unreachable registry must not break the page
        return ModelPage([], error=f"cannot read the model registry: {exc}")
    views: list[TargetView] = []
    for target in TARGETS:
        mine = [m for m in infos if m.target == target]
        if not mine:
            continue
        champ = next((m for m in mine if "champion" in m.aliases), None)
        chall = next((m for m in mine if "challenger" in m.aliases and m is not champ), None)
        cv = _version(registry, champ) if champ else None
        hv = _version(registry, chall) if chall else None
        shown = cv or hv
        metrics: dict[str, Any] = shown.metrics if shown is not None else {}
        stages = [s for s in STAGE_ORDER if s in metrics]
        scorers: list[str] = []
        for stage in stages:
            scorers += [s for s in metrics[stage] if s not in scorers]
        others = [m for m in mine if m is not champ and m is not chall]
        views.append(TargetView(target, cv, hv, others, stages, scorers))
    drift = [drift_view(registry, t, m.version) for t, m in models.loaded.items()]
    return ModelPage(views, drift=drift, psi_threshold=settings.psi_threshold)
