"""Safe model swaps: follow the registry's ``champion`` alias without failing a request.

``ModelManager.check()`` asks the registry which version each target's champion alias points
at; for every target whose version differs from the loaded one it loads the new model and
validates it off the request path (``validate_model``: the model's input columns are ones our
feature pipeline produces, and a fixed probe batch of projects scores finite probabilities in
[0, 1] with contributions that add up to the margin). Only when every changed target passes is
the new ``ModelState`` published, by one attribute assignment (``on_swap``): a request holds
the state it started with, so it finishes on the old models or starts on the new ones.

On any failure (registry unreachable, artifact unreadable, probe failed) the old models keep
serving; the failure is logged, kept in ``status()`` (shown by ``GET /v1/models``) and passed
to ``on_failure`` (target -> reason; ``registry`` when it could not be read: the app counts
them in ``/metrics``), and the next poll retries. ``start()`` polls every
``Settings.model_poll_seconds`` in a daemon thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from api.services import ModelState
from features.pipeline import build_features, feature_columns, insufficient_reason
from model_registry.registry import CHAMPION, LoadedModel, ModelRegistry
from risk_model.config import TARGETS
from risk_model.exceptions import ModelNotAvailable, PmoRiskError
from risk_model.schemas import conform_projects, conform_snapshots

log = logging.getLogger(__name__)


class ModelRejected(PmoRiskError):
    """A new model failed validation; the old one keeps serving."""


@dataclass(frozen=True)
class SwapStatus:
    """What the manager last did: checks, swaps, and the last failure (None after a success)."""

    poll_seconds: float
    checks: int = 0
    swaps: int = 0
    failures: int = 0
    last_check_at: datetime | None = None
    last_swap_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    rejected: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """One check: the targets swapped (target -> new version) and the failures."""

    swapped: dict[str, str]
    errors: dict[str, str]


def _probe_history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fixed batch of projects at several stages: on track, late and over budget, no
    earned value, no reports at all, a project attribute."""
    projects = pd.DataFrame(
        {
            "project_id": ["PROBE-1", "PROBE-2", "PROBE-3", "PROBE-4"],
            "category": ["IT", "Bridges", "IT", None],
            "start_date": pd.to_datetime(["2023-01-01", "2023-01-01", "2023-06-01", "2024-01-01"]),
            "baseline_finish": pd.to_datetime(
                ["2024-01-01", "2024-06-30", "2024-06-01", "2025-01-01"]
            ),
            "baseline_budget": [1_000_000.0, 5_000_000.0, 250_000.0, np.nan],
        }
    )
    dates = pd.to_datetime(["2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31"])
    rows = []
    for i, d in enumerate(dates):
        rows.append(
            {
                "project_id": "PROBE-1",
                "as_of": d,
                "percent_complete": 20.0 * (i + 1),
                "planned_value": 200_000.0 * (i + 1),
                "earned_value": 195_000.0 * (i + 1),
                "actual_cost": 200_000.0 * (i + 1),
                "forecast_finish": pd.Timestamp("2024-01-15"),
                "rag": "green",
            }
        )
        rows.append(
            {
                "project_id": "PROBE-2",
                "as_of": d,
                "percent_complete": 8.0 * (i + 1),
                "planned_value": 900_000.0 * (i + 1),
                "earned_value": 500_000.0 * (i + 1),
                "actual_cost": 800_000.0 * (i + 1),
                "forecast_finish": pd.Timestamp("2024-06-30") + pd.Timedelta(days=60 * i),
                "forecast_cost": 5_000_000.0 + 600_000.0 * i,
                "rag": ["amber", "amber", "red", "red"][i],
                "open_risks": float(3 + 2 * i),
            }
        )
    rows.append(
        {
            "project_id": "PROBE-3",
            "as_of": pd.Timestamp("2023-12-31"),
            "forecast_finish": pd.Timestamp("2024-08-01"),
            "rag": "amber",
        }
    )
    return conform_projects(projects), conform_snapshots(pd.DataFrame(rows))


def probe_features() -> pd.DataFrame:
    """The probe batch as feature rows (every report of every probe project)."""
    projects, snapshots = _probe_history()
    return build_features(projects, snapshots)


def validate_model(loaded: LoadedModel, probe: pd.DataFrame | None = None) -> None:
    """``ModelRejected`` unless the model fits our features and scores the probe batch sanely."""
    model = loaded.model
    for method in ("predict_proba", "contributions", "calibrate_margin", "feature_names"):
        if not callable(getattr(model, method, None)):
            raise ModelRejected(f"{loaded.name} v{loaded.version}: no {method}() (not ours)")
    features = probe if probe is not None else probe_features()
    known = set(feature_columns(features))
    try:
        wanted = list(model.feature_names())
    except Exception as exc:
        raise ModelRejected(f"{loaded.name} v{loaded.version}: not fitted ({exc})") from exc
    foreign = [c for c in wanted if c not in known and not c.startswith("attr_")]
    if foreign:
        raise ModelRejected(
            f"{loaded.name} v{loaded.version}: input columns our features do not have: "
            f"{', '.join(foreign[:10])}"
        )
    rows = features.loc[insufficient_reason(features, loaded.target).isna().to_numpy()]
    X = rows.reindex(columns=wanted)
    try:
        p = np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1]
        contrib = model.contributions(X)
        margin = contrib.sum(axis=1).to_numpy(dtype=np.float64)
        p_again = np.asarray(model.calibrate_margin(margin), dtype=np.float64)
    except Exception as exc:
        raise ModelRejected(
            f"{loaded.name} v{loaded.version}: the probe batch failed: {exc}"
        ) from exc
    if len(p) != len(X) or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ModelRejected(
            f"{loaded.name} v{loaded.version}: the probe batch scored probabilities that are "
            "not finite or outside [0, 1]"
        )
    if not np.allclose(p, p_again, atol=1e-9):
        raise ModelRejected(
            f"{loaded.name} v{loaded.version}: contributions do not add up to the margin"
        )


class ModelManager:
    """Holds the published ``ModelState`` and swaps it when the champion alias moves."""

    def __init__(
        self,
        registry: ModelRegistry,
        state: ModelState,
        *,
        poll_seconds: float = 0.0,
        on_swap: Callable[[ModelState, ModelState], None] | None = None,
        validate: Callable[[LoadedModel], None] = validate_model,
        prepare: Callable[[LoadedModel], LoadedModel] | None = None,
        targets: tuple[str, ...] = TARGETS,
        on_failure: Callable[[Mapping[str, str]], None] | None = None,
    ) -> None:
        self._prepare = prepare
        self._on_failure = on_failure
        self.registry = registry
        self._state = state
        self._on_swap = on_swap
        self._validate = validate
        self._targets = targets
        self._lock = threading.Lock()
        self._status = SwapStatus(poll_seconds=poll_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> ModelState:
        return self._state

    def status(self) -> SwapStatus:
        return self._status

    # -- one check ----------------------------------------------------------------------------
    def _champions(self) -> dict[str, str | None]:
        return {t: self.registry.alias_version(t, CHAMPION) for t in self._targets}

    def check(self) -> CheckResult:
        """Load, validate and publish the champions that moved; never raises."""
        with self._lock:
            now = datetime.now(UTC)
            status = replace(self._status, checks=self._status.checks + 1, last_check_at=now)
            errors: dict[str, str] = {}
            try:
                champions = self._champions()
            except Exception as exc:
                self._status = self._failed(status, {"registry": f"registry unreachable: {exc}"})
                self._report(self._status.rejected)
                return CheckResult({}, dict(self._status.rejected))
            current = self._state
            loaded: dict[str, LoadedModel] = {}
            for target, version in champions.items():
                have = current.loaded.get(target)
                if version is None or (have is not None and have.version == version):
                    continue
                try:
                    candidate = self.registry.load_version(target, version)
                    if self._prepare is not None:
                        candidate = self._prepare(candidate)
                    self._validate(candidate)
                except Exception as exc:
                    errors[target] = f"version {version} rejected: {exc}"
                    continue
                loaded[target] = candidate
            if errors:
                self._status = self._failed(status, errors)
                self._report(errors)
                return CheckResult({}, errors)
            if not loaded:
                self._status = replace(status, last_error=None, rejected={})
                return CheckResult({}, {})
            new = ModelState(
                loaded={**current.loaded, **loaded},
                missing={t: m for t, m in current.missing.items() if t not in loaded},
            )
            self._state = new
            self._status = replace(
                status, swaps=status.swaps + 1, last_swap_at=now, last_error=None, rejected={}
            )
            swapped = {t: m.version for t, m in loaded.items()}
        log.info("champion models swapped in: %s", swapped)
        if self._on_swap is not None:
            try:
                self._on_swap(current, new)
            except Exception:
                log.exception("after-swap hook failed")
        return CheckResult(swapped, {})

    def _report(self, errors: Mapping[str, str]) -> None:
        """Tell ``on_failure`` (the app's metrics) which targets failed: polls and reloads."""
        if self._on_failure is not None:
            try:
                self._on_failure(dict(errors))
            except Exception:
                log.exception("reload-failure hook failed")

    @staticmethod
    def _failed(status: SwapStatus, errors: Mapping[str, str]) -> SwapStatus:
        text = "; ".join(f"{k}: {v}" for k, v in errors.items())
        log.error("model reload failed, old models keep serving: %s", text)
        return replace(
            status,
            failures=status.failures + 1,
            last_error=text,
            last_error_at=datetime.now(UTC),
            rejected=dict(errors),
        )

    # -- polling ------------------------------------------------------------------------------
    def start(self) -> None:
        """Poll the registry every ``poll_seconds`` in a daemon thread (0 or less: never)."""
        if self._status.poll_seconds <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pmo-risk-model-poll", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._status.poll_seconds):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)


def bound_threads(models: Any, threads: int) -> Any:
    """Make each model predict with ``threads`` LightGBM threads (``n_jobs``); takes and gives
    a ``ModelState`` or one ``LoadedModel``."""
    if isinstance(models, ModelState):
        for m in models.loaded.values():
            bound_threads(m, threads)
        return models
    set_params = getattr(models.model, "set_params", None)
    if callable(set_params) and "n_jobs" in models.model.get_params():
        set_params(n_jobs=threads)
    return models


def load_state(registry: ModelRegistry, targets: tuple[str, ...] = TARGETS) -> ModelState:
    """The champions at start-up, each validated; a target that fails is missing (with why)."""
    loaded: dict[str, LoadedModel] = {}
    missing: dict[str, str] = {}
    for target in targets:
        try:
            model = registry.load(target, alias=CHAMPION)
            validate_model(model)
            loaded[target] = model
        except ModelNotAvailable as exc:
            missing[target] = str(exc)
            log.warning("model not available for %s: %s", target, exc)
        except Exception as exc:
            missing[target] = f"could not load the {CHAMPION} model: {exc}"
            log.exception("could not load the %s model of %s", CHAMPION, target)
    return ModelState(loaded=loaded, missing=missing)


def describe(status: SwapStatus) -> dict[str, Any]:
    """The status as plain data (for ``GET /v1/models``)."""
    return {
        "poll_seconds": status.poll_seconds,
        "checks": status.checks,
        "swaps": status.swaps,
        "failures": status.failures,
        "last_check_at": status.last_check_at,
        "last_swap_at": status.last_swap_at,
        "last_error": status.last_error,
        "last_error_at": status.last_error_at,
        "rejected": dict(status.rejected),
    }


class Rescorer:
    """Recomputes the stored scores in one background thread after a swap (issue 6).

    Requests queue behind each other (a swap during a rescoring rescores again with the newer
    models); ``on_done`` runs after each (the app forgets its cached ranking there).
    """

    def __init__(
        self,
        rescore: Callable[[ModelState], Any],
        on_done: Callable[[], None] | None = None,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._rescore = rescore
        self._on_done = on_done
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pmo-risk-rescore")
        self.runs = 0
        self.last_error: str | None = None

    def request(self, state: ModelState) -> Any:
        """Queue a rescoring with ``state``; returns its future."""
        return self._pool.submit(self._run, state)

    def _run(self, state: ModelState) -> None:
        try:
            self._rescore(state)
            self.last_error = None
        except Exception as exc:
            self.last_error = str(exc)
            log.exception("background rescoring failed")
        finally:
            self.runs += 1
            if self._on_done is not None:
                self._on_done()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
