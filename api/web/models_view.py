"""The model page's data: versions, metrics by stage beside baselines, artifacts."""

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
class ModelPage:
    targets: list[TargetView]
    metric_names: tuple[tuple[str, str], ...] = METRICS
    error: str | None = None


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
    """Every target's champion and challenger with their metrics, plots and text artifacts."""
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
    return ModelPage(views)
