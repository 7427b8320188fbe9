"""Gated retraining (``pmo-risk retrain``, meant for cron): promote a challenger only if it wins.

For each target:

1. note the champion version (at the start of the run, for every target);
2. train a challenger on all data to date with the usual time split (``training.train``: the
   latest period is held out);
3. score the challenger *and* the champion on the same held-out rows: the challenger's test
   rows whose label the champion never knew (label date after the champion's ``seen_until``
   run parameter), so the champion is not judged on rows it learnt from;
4. decide (``decide``, pure): promote when the challenger beats the champion on
   ``Settings.promote_metric`` by at least ``promote_margin`` and its expected calibration error
   is at most the champion's + ``promote_calibration_slack``; no champion yet: promote;
5. log the challenger's training run (model, model card, drift reference) and a decision run
   (reasons, figures, both models' metrics, the champion's drift against the current portfolio)
   in MLflow;
6. commit, the last step, for every target at once: under an exclusive file lock
   (``home/retrain.lock``), check that each champion is still the version noted in step 1
   (compare-and-set), register the challenger (alias ``challenger``) and, if decided and the
   check holds, move ``champion`` to it (one alias write).

An exception anywhere before step 6 leaves the registry as it was (only MLflow runs were
logged); the champion alias is only ever moved, never removed. Two concurrent runs cannot both
promote: the second to take the lock sees a champion that changed since it started.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model_registry.registry import (
    CHAMPION,
    DECISION_JSON,
    DRIFT_CHECKED_AT,
    DRIFT_FLAGGED,
    DRIFT_REFERENCE_JSON,
    DRIFT_RUN_ID,
)
from risk_model.config import TARGETS, Settings
from risk_model.exceptions import InsufficientData, ModelNotAvailable, RegistryBusy
from training.drift import current_rows, drift_frame, drift_records, flagged_features
from training.evaluate import classification_metrics
from training.labels import Labelled, labelled_rows, split_labelled
from training.train import TargetFit, fit_target, log_fit

Progress = Callable[[str], None]
#: Called as ``hook(target, step)`` after each step ("trained", "compared", "logged"), then as
#: ``hook("*", "locked")`` holding the lock before the commit; an exception it raises aborts
#: the run before anything is committed, like any crash would.
Hook = Callable[[str, str], None]

LOCK_NAME = "retrain.lock"
HIGHER_IS_BETTER = {"roc_auc": True, "pr_auc": True, "brier": False, "log_loss": False}
COMPARED = ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "n", "positives")
PROMOTED, KEPT, FIRST, SKIPPED = "promoted", "kept", "first champion", "skipped"


def _noop(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Comparison:
    """Both models' metrics on the same held-out rows."""

    challenger: dict[str, float]
    champion: dict[str, float] | None
    rows: int
    note: str = ""


@dataclass
class Decision:
    """What retraining did for one target, and why."""

    target: str
    action: str  # PROMOTED, KEPT, FIRST or SKIPPED
    reasons: list[str]
    champion_before: str | None
    champion_after: str | None
    challenger_version: str | None = None
    challenger_run_id: str | None = None
    decision_run_id: str | None = None
    comparison: Comparison | None = None
    drift: list[dict[str, Any]] = field(default_factory=list)
    drift_flagged: list[str] = field(default_factory=list)
    drift_measured: bool = False

    @property
    def promoted(self) -> bool:
        return self.action in (PROMOTED, FIRST)

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=_json_default))  # type: ignore[no-any-return]


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


# -- the gate (pure) ------------------------------------------------------------------------
def decide(
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    settings: Settings,
) -> tuple[bool, list[str]]:
    """(promote?, reasons with figures) for metrics measured on the same held-out rows."""
    metric = settings.promote_metric
    if champion is None:
        return True, ["no champion yet: the challenger becomes champion"]
    c, k = float(challenger.get(metric, math.nan)), float(champion.get(metric, math.nan))
    if not (math.isfinite(c) and math.isfinite(k)):
        return False, [f"{metric} is undefined on the held-out rows: the champion stays"]
    gain = c - k if HIGHER_IS_BETTER[metric] else k - c
    margin = settings.promote_margin
    better = gain > 0 and gain >= margin
    reasons = [
        f"{metric}: challenger {c:.4f} vs champion {k:.4f} "
        f"({'gain' if gain >= 0 else 'loss'} {abs(gain):.4f}; needed a gain of at least "
        f"{margin:.4f}): {'better' if better else 'not better by the margin'}"
    ]
    ece_c, ece_k = float(challenger.get("ece", math.nan)), float(champion.get("ece", math.nan))
    slack = settings.promote_calibration_slack
    if math.isfinite(ece_c) and math.isfinite(ece_k):
        calibrated = ece_c <= ece_k + slack
        reasons.append(
            f"calibration (ECE): challenger {ece_c:.4f} vs champion {ece_k:.4f} "
            f"(allowed up to {ece_k + slack:.4f}): {'ok' if calibrated else 'worse'}"
        )
    else:
        calibrated = False
        reasons.append("calibration (ECE) undefined on the held-out rows: cannot promote")
    promote = better and calibrated
    reasons.append("promote the challenger" if promote else "keep the champion")
    return promote, reasons


# -- the comparison ---------------------------------------------------------------------------
def _aligned(rows: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``rows`` with exactly ``names`` as columns (absent ones NaN) for an older model."""
    return rows.reindex(columns=list(names))


def compare(
    fit: TargetFit, labelled: Labelled, settings: Settings, champion: Any | None
) -> Comparison:
    """Score the challenger and the champion (a ``LoadedModel`` or None) on the same rows."""
    split = split_labelled(labelled, settings.split_fractions)
    test = labelled.subset(split.test)
    note = ""
    seen_until = (champion.params.get("seen_until") if champion is not None else None) or None
    if champion is not None and seen_until not in (None, "None"):
        unseen = (test.label_date > pd.Timestamp(seen_until)).to_numpy()
        if unseen.sum() < len(test):
            note = (
                f"{len(test) - int(unseen.sum())} held-out reports left out: the champion "
                f"knew their labels (up to {seen_until})"
            )
        test = test.subset(unseen)
    elif champion is not None:
        note = "the champion does not record which labels it saw: compared on every test row"
    y = test.y.to_numpy(dtype="float64")
    columns = list(fit.model.feature_names_in_)
    p_challenger = fit.model.predict_proba(test.rows[columns])[:, 1] if len(test) else np.array([])
    challenger = classification_metrics(y, p_challenger)
    if champion is None:
        return Comparison(challenger, None, len(test), note)
    if len(test) == 0:
        return Comparison(challenger, dict.fromkeys(COMPARED, math.nan), 0, note)
    p_champion = champion.model.predict_proba(_aligned(test.rows, champion.feature_names))[:, 1]
    return Comparison(challenger, classification_metrics(y, p_champion), len(test), note)


# -- the lock and the commit -------------------------------------------------------------------
@contextmanager
def promotion_lock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive lock on ``path`` (``flock``: also between threads), waited for up to
    ``timeout`` seconds; ``RegistryBusy`` when another run keeps it longer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RegistryBusy(
                        f"another retraining holds {path} for more than {timeout:.0f} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def commit(
    registry: Any, target: str, run_id: str, *, promote: bool, champion_before: str | None
) -> tuple[str, str, str | None, list[str]]:
    """Register the challenger; move ``champion`` to it if decided and the champion is still
    ``champion_before`` (compare-and-set). Call it holding ``promotion_lock``.

    Returns (action, challenger version, champion after, extra reasons).
    """
    now = registry.version_for(target, CHAMPION)
    version = str(registry.register(run_id, target))
    if now != champion_before:
        reason = (
            f"the champion changed during this run (version {champion_before} -> {now}): "
            "not promoted"
        )
        return KEPT, version, registry.version_for(target, CHAMPION), [reason]
    if now is None:
        return FIRST, version, registry.version_for(target, CHAMPION), []
    if promote:
        registry.promote(target, version)
        return PROMOTED, version, version, []
    return KEPT, version, now, []


# -- the run -----------------------------------------------------------------------------------
@dataclass
class RetrainReport:
    """Every target's decision; ``moved`` when any champion changed."""

    decisions: list[Decision]
    started_at: str

    @property
    def moved(self) -> bool:
        return any(d.promoted for d in self.decisions)


def _champion_drift(
    registry: Any, champion: Any | None, current: pd.DataFrame, threshold: float
) -> pd.DataFrame | None:
    if champion is None:
        return None
    reference = registry.run_artifact_json(champion.run_id, DRIFT_REFERENCE_JSON)
    if not reference:
        return None
    return drift_frame(reference, current, threshold=threshold)


def _flat(prefix: str, metrics: Mapping[str, float] | None) -> dict[str, float]:
    return {f"{prefix}.{k}": float(v) for k, v in (metrics or {}).items() if k in COMPARED}


def prepare_target(
    target: str,
    *,
    features: pd.DataFrame,
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    current: pd.DataFrame,
    champion_before: str | None,
    registry: Any,
    settings: Settings,
    hook: Hook = _noop,
    progress: Progress = _noop,
) -> Decision:
    """Train, compare and log one target: its decision, not yet committed (``finish``)."""
    try:
        labelled = labelled_rows(features, projects, snapshots, target, settings)
        fit = fit_target(labelled, settings, progress=progress)
    except InsufficientData as exc:
        return Decision(target, SKIPPED, [str(exc)], champion_before, champion_before)
    hook(target, "trained")
    champion = None
    if champion_before is not None:
        try:
            champion = registry.load(target, CHAMPION)
        except ModelNotAvailable:
            champion = None
    progress(f"{target}: scoring challenger and champion on the held-out period")
    try:
        comparison = compare(fit, labelled, settings, champion)
        promote, reasons = decide(comparison.challenger, comparison.champion, settings)
    except (ValueError, KeyError) as exc:
        # The champion cannot read today's features: it could not serve them either.
        comparison = compare(fit, labelled, settings, None)
        promote, reasons = True, [f"the champion cannot score the current features ({exc})"]
    if comparison.note:
        reasons.insert(0, comparison.note)
    hook(target, "compared")

    threshold = settings.psi_threshold
    drift = _champion_drift(registry, champion, current, threshold)
    progress(f"{target}: logging the challenger and the decision")
    challenger_run = log_fit(
        fit,
        registry,
        current=current,
        psi_threshold=threshold,
        tags={"pmo_risk.retrain": "challenger"},
    )
    decision = Decision(
        target,
        PROMOTED if promote else KEPT,
        reasons,
        champion_before,
        champion_before,
        challenger_run_id=challenger_run,
        comparison=comparison,
        drift=drift_records(drift) if drift is not None else [],
        drift_flagged=flagged_features(drift) if drift is not None else [],
        drift_measured=drift is not None,
    )
    params = {
        "target": target,
        "metric": settings.promote_metric,
        "promote_margin": settings.promote_margin,
        "promote_calibration_slack": settings.promote_calibration_slack,
        "psi_threshold": threshold,
        "champion_before": champion_before,
        "champion_run_id": champion.run_id if champion is not None else None,
        "challenger_run_id": challenger_run,
        "rows_compared": comparison.rows,
    }
    decision.decision_run_id = registry.log_run(
        run_name=f"retrain-{target}",
        tags={
            "target": target,
            "pmo_risk.kind": "retrain-decision",
            "pmo_risk.decision": "promote" if promote else "keep",
            "pmo_risk.outcome": "pending",
            "pmo_risk.drift_flagged": ",".join(decision.drift_flagged),
        },
        params=params,
        metrics={
            **_flat("challenger", comparison.challenger),
            **_flat("champion", comparison.champion),
        },
        texts={DECISION_JSON: json.dumps(decision.to_json(), indent=2)},
    )
    hook(target, "logged")
    return decision


def finish(
    registry: Any, decision: Decision, settings: Settings, *, hold_lock: bool = True
) -> Decision:
    """Commit a prepared decision (register, maybe promote) and tag its runs and the champion.

    Without ``hold_lock`` the caller already holds ``promotion_lock``.
    """
    if decision.action == SKIPPED or decision.challenger_run_id is None:
        return decision
    if hold_lock:
        with promotion_lock(settings.home / LOCK_NAME, settings.retrain_lock_timeout):
            return finish(registry, decision, settings, hold_lock=False)
    target = decision.target
    action, version, after, extra = commit(
        registry,
        target,
        decision.challenger_run_id,
        promote=decision.action == PROMOTED,
        champion_before=decision.champion_before,
    )
    decision.action, decision.challenger_version, decision.champion_after = action, version, after
    decision.reasons += extra
    if decision.decision_run_id is not None:
        registry.set_run_tags(
            decision.decision_run_id,
            {"pmo_risk.outcome": action, "pmo_risk.challenger_version": version},
        )
    if decision.champion_before is not None and decision.drift_measured:
        registry.set_version_tags(
            target,
            decision.champion_before,
            {
                DRIFT_CHECKED_AT: datetime.now(UTC).isoformat(timespec="seconds"),
                DRIFT_FLAGGED: ",".join(decision.drift_flagged),
                DRIFT_RUN_ID: decision.decision_run_id or "",
            },
        )
    return decision


def retrain(
    settings: Settings,
    *,
    targets: Sequence[str] = TARGETS,
    registry: Any | None = None,
    hook: Hook = _noop,
    progress: Progress = _noop,
) -> RetrainReport:
    """Retrain every target on the stored history; each promotion is gated (module docstring)."""
    from features.pipeline import build_features
    from model_registry.registry import ModelRegistry
    from risk_model.store import Store

    started = datetime.now(UTC).isoformat(timespec="seconds")
    registry = registry if registry is not None else ModelRegistry.from_settings(settings)
    champions = {t: registry.version_for(t, CHAMPION) for t in targets}
    store = Store(settings.store_url).init()
    try:
        projects, snapshots = store.projects(), store.snapshots()
    finally:
        store.dispose()
    if projects.empty:
        raise InsufficientData("the store is empty: run `pmo-risk import` first")
    progress(f"building features for {len(snapshots)} reports of {len(projects)} projects")
    features = build_features(projects, snapshots)
    current = current_rows(features, projects)
    prepared = [
        prepare_target(
            t,
            features=features,
            projects=projects,
            snapshots=snapshots,
            current=current,
            champion_before=champions[t],
            registry=registry,
            settings=settings,
            hook=hook,
            progress=progress,
        )
        for t in targets
    ]
    progress("committing: registering challengers, promoting winners")
    with promotion_lock(settings.home / LOCK_NAME, settings.retrain_lock_timeout):
        hook("*", "locked")
        decisions = [finish(registry, d, settings, hold_lock=False) for d in prepared]
    return RetrainReport(decisions, started)
