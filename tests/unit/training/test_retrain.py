"""Gated retraining: the gate, the lock, and whole runs on a real store and MLflow registry."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from features.pipeline import build_features
from model_registry.registry import CHALLENGER, CHAMPION, MODEL_CARD_JSON, ModelRegistry
from risk_model.config import Settings
from risk_model.exceptions import RegistryBusy
from risk_model.store import Store
from training.labels import Labelled, labelled_rows
from training.retrain import FIRST, KEPT, PROMOTED, decide, promotion_lock, retrain
from training.train import fit_target, log_fit

TARGET = ("schedule",)


def _settings(home: Path, **overrides: Any) -> Settings:
    params: dict[str, Any] = {"home": home, "n_estimators": 80, "min_child_samples": 20}
    params.update(overrides)
    return Settings(**params)


# -- the gate ------------------------------------------------------------------------------
def _m(auc: float, ece: float, brier: float = 0.2) -> dict[str, float]:
    return {"roc_auc": auc, "ece": ece, "brier": brier}


@pytest.mark.parametrize(
    ("challenger", "champion", "promote"),
    [
        (_m(0.80, 0.05), _m(0.79, 0.05), True),  # better by more than the margin
        (_m(0.794, 0.05), _m(0.79, 0.05), False),  # better, but by less than the margin
        (_m(0.78, 0.05), _m(0.79, 0.05), False),  # worse
        (_m(0.80, 0.06), _m(0.79, 0.05), False),  # better, calibration worse than the slack
        (_m(0.80, 0.054), _m(0.79, 0.05), True),  # calibration worse within the slack
        (_m(float("nan"), 0.05), _m(0.79, 0.05), False),  # undefined: the champion stays
    ],
)
def test_gate_needs_the_margin_and_no_worse_calibration(
    tmp_path: Path, challenger: dict[str, float], champion: dict[str, float], promote: bool
) -> None:
    """Defaults: ROC-AUC gain >= 0.005 and ECE <= champion's + 0.005; reasons carry figures."""
    settings = _settings(tmp_path)
    decided, reasons = decide(challenger, champion, settings)
    assert decided is promote
    assert reasons and (not np.isfinite(challenger["roc_auc"]) or "0.79" in reasons[0])


def test_gate_with_a_lower_is_better_metric(tmp_path: Path) -> None:
    """With Brier as the primary metric a lower score wins."""
    settings = _settings(tmp_path, promote_metric="brier")
    assert decide(_m(0.7, 0.05, brier=0.15), _m(0.7, 0.05, brier=0.20), settings)[0] is True
    assert decide(_m(0.9, 0.05, brier=0.20), _m(0.7, 0.05, brier=0.15), settings)[0] is False


def test_no_champion_means_the_challenger_wins(tmp_path: Path) -> None:
    promote, reasons = decide(_m(0.6, 0.2), None, _settings(tmp_path))
    assert promote is True and "no champion" in reasons[0]


def test_promotion_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    """While one run holds the lock another waits, then gives up with RegistryBusy."""
    path = tmp_path / "retrain.lock"
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with promotion_lock(path, timeout=5):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    with pytest.raises(RegistryBusy), promotion_lock(path, timeout=0.3):
        pass
    release.set()
    thread.join(10)
    with promotion_lock(path, timeout=1):  # free again
        pass


# -- whole runs ----------------------------------------------------------------------------
def _home(tmp_path: Path, simulated: Any, mlflow_db: Path, **overrides: Any) -> Settings:
    settings = _settings(tmp_path / "home", **overrides)
    settings.ensure_home()
    shutil.copyfile(mlflow_db, settings.home / "mlflow.db")
    store = Store(settings.store_url).init()
    store.import_frames(simulated.projects, simulated.snapshots)
    store.dispose()
    return settings


def _champion(settings: Settings, simulated: Any, *, shuffled: bool) -> str:
    """Register a first (champion) schedule model; with ``shuffled`` it learnt permuted labels."""
    features = build_features(simulated.projects, simulated.snapshots)
    labelled = labelled_rows(
        features, simulated.projects, simulated.snapshots, "schedule", settings
    )
    if shuffled:
        rng = np.random.default_rng(0)
        y = labelled.y.copy()
        y[:] = rng.permutation(y.to_numpy())
        labelled = Labelled(labelled.target, labelled.rows, y, labelled.label_date, labelled.ratio)
    registry = ModelRegistry.from_settings(settings)
    version = str(registry.register(log_fit(fit_target(labelled, settings), registry), "schedule"))
    assert registry.version_for("schedule", CHAMPION) == version
    return version


def _state(registry: ModelRegistry) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(m.target, m.version, m.aliases) for m in registry.list_models()]


def test_a_better_challenger_is_promoted_and_the_decision_is_logged(
    tmp_path: Path, simulated: Any, mlflow_db: Path
) -> None:
    """Champion trained on shuffled labels; the honest challenger beats it and is promoted."""
    settings = _home(tmp_path, simulated, mlflow_db)
    before = _champion(settings, simulated, shuffled=True)
    report = retrain(settings, targets=TARGET)
    [d] = report.decisions
    registry = ModelRegistry.from_settings(settings)
    assert d.action == PROMOTED and report.moved
    assert d.champion_before == before and d.champion_after == d.challenger_version
    assert registry.version_for("schedule", CHAMPION) == d.challenger_version
    assert d.comparison is not None and d.comparison.champion is not None
    gain = d.comparison.challenger["roc_auc"] - d.comparison.champion["roc_auc"]
    assert gain >= settings.promote_margin
    run = registry._client.get_run(d.decision_run_id)
    assert run.data.tags["pmo_risk.outcome"] == PROMOTED
    assert run.data.tags["pmo_risk.decision"] == "promote"
    assert run.data.metrics["challenger.roc_auc"] == pytest.approx(
        d.comparison.challenger["roc_auc"]
    )
    assert run.data.metrics["champion.roc_auc"] == pytest.approx(d.comparison.champion["roc_auc"])
    logged = registry.run_artifact_json(d.decision_run_id, "decision.json")
    assert logged["reasons"][-1] == "promote the challenger"
    # the champion's drift was measured against its stored reference and tagged on its version
    assert d.drift_measured and len(d.drift) > 0
    _, tags = registry.version_details("schedule", before)
    assert tags["pmo_risk.drift_flagged"] == ",".join(d.drift_flagged)
    # the new version carries its model card
    card = registry.run_artifact_json(d.challenger_run_id, MODEL_CARD_JSON)
    assert card["target"] == "schedule" and card["drift"]["measured"] is True


def test_a_worse_challenger_is_kept_out(tmp_path: Path, simulated: Any, mlflow_db: Path) -> None:
    """A challenger trained on a tiny slice (10% of projects) loses: the champion stays."""
    settings = _home(tmp_path, simulated, mlflow_db)
    before = _champion(settings, simulated, shuffled=False)
    tiny = settings.model_copy(update={"split_fractions": (0.1, 0.1, 0.8)})
    report = retrain(tiny, targets=TARGET)
    [d] = report.decisions
    registry = ModelRegistry.from_settings(settings)
    assert d.action == KEPT and not report.moved
    assert registry.version_for("schedule", CHAMPION) == before == d.champion_after
    assert registry.version_for("schedule", CHALLENGER) == d.challenger_version != before
    assert d.comparison is not None and d.comparison.champion is not None
    assert (
        d.comparison.challenger["roc_auc"]
        < (d.comparison.champion["roc_auc"] + settings.promote_margin)
        or d.comparison.challenger["ece"] > d.comparison.champion["ece"] + 0.005
    )
    # compared only on rows whose labels the champion never saw
    assert d.comparison.note and "left out" in d.comparison.note
    run = registry._client.get_run(d.decision_run_id)
    assert run.data.tags["pmo_risk.outcome"] == KEPT


@pytest.mark.parametrize("step", ["trained", "locked"])
def test_a_crash_mid_run_changes_nothing(
    tmp_path: Path, simulated: Any, mlflow_db: Path, step: str
) -> None:
    """An exception after training, or holding the lock just before the commit: the registry
    (versions and aliases) is exactly as before, though the challenger would have won."""
    settings = _home(tmp_path, simulated, mlflow_db)
    _champion(settings, simulated, shuffled=True)
    registry = ModelRegistry.from_settings(settings)
    before = _state(registry)

    def crash(target: str, at: str) -> None:
        if at == step:
            raise RuntimeError(f"injected failure at {at}")

    with pytest.raises(RuntimeError, match="injected"):
        retrain(settings, targets=TARGET, hook=crash)
    assert _state(registry) == before
    with promotion_lock(settings.home / "retrain.lock", timeout=1):  # the lock was released
        pass


def test_first_retrain_without_champion_makes_one(
    tmp_path: Path, simulated: Any, mlflow_db: Path
) -> None:
    settings = _home(tmp_path, simulated, mlflow_db)
    [d] = retrain(settings, targets=TARGET).decisions
    registry = ModelRegistry.from_settings(settings)
    assert d.action == FIRST and registry.version_for("schedule", CHAMPION) == d.challenger_version


def test_two_concurrent_retrains_promote_at_most_once(
    tmp_path: Path, simulated: Any, mlflow_db: Path
) -> None:
    """Both runs decide to promote over the same champion; only the first commit wins, the
    other sees the champion changed since it started and keeps it."""
    settings = _home(tmp_path, simulated, mlflow_db)
    before = _champion(settings, simulated, shuffled=True)
    barrier = threading.Barrier(2, timeout=300)
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        def both_decided(target: str, step: str) -> None:
            if step == "logged":
                barrier.wait()  # both have decided before either commits

        try:
            results[i] = retrain(settings, targets=TARGET, hook=both_decided).decisions[0]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors, errors
    decisions = list(results.values())
    assert all(d.champion_before == before for d in decisions)
    promoted = [d for d in decisions if d.action == PROMOTED]
    kept = [d for d in decisions if d.action == KEPT]
    assert len(promoted) == 1 and len(kept) == 1
    assert any("champion changed during this run" in r for r in kept[0].reasons)
    registry = ModelRegistry.from_settings(settings)
    assert registry.version_for("schedule", CHAMPION) == promoted[0].challenger_version
