"""A thin MLflow client: log a training run, register its model, move aliases, load by alias.

Every call takes its URIs from the instance, never from process-wide state set at import. The
fluent ``mlflow`` API is used only inside ``log_training``, pinned to this registry's tracking URI
for the duration of the call.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from risk_model.config import TARGETS, Settings
from risk_model.exceptions import ModelNotAvailable

CHAMPION = "champion"
CHALLENGER = "challenger"
EXPERIMENT = "pmo-risk"
BACKTEST_EXPERIMENT = "pmo-risk-backtest"
"""Where ``pmo-risk evaluate`` logs its backtests (``training.backtest_report.log_report``)."""
BACKTEST_JSON = "backtest.json"
#: Run artifacts a registered version carries besides its model (issue 3, section 5): written
#: by ``training.train.log_fit`` and ``training.retrain``, read here for the API.
MODEL_CARD_JSON = "model_card.json"
MODEL_CARD_MD = "model_card.md"
DRIFT_REFERENCE_JSON = "drift_reference.json"
DECISION_JSON = "decision.json"
#: Model version tags ``pmo-risk retrain`` sets on the champion it checked for drift.
DRIFT_CHECKED_AT = "pmo_risk.drift_checked_at"
DRIFT_FLAGGED = "pmo_risk.drift_flagged"
DRIFT_RUN_ID = "pmo_risk.drift_run_id"
_FLUENT_LOCK = threading.Lock()


@contextmanager
def _pinned(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for the block, then restore what was there."""
    import mlflow

    with _FLUENT_LOCK:
        tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(tracking)
            mlflow.set_registry_uri(registry)


@dataclass(frozen=True)
class LoadedModel:
    """A model fetched from the registry by alias, with what the API reports about it."""

    target: str
    name: str
    version: str
    alias: str
    model: Any
    run_id: str
    trained_at: datetime
    metrics: dict[str, float] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    ranges: Any | None = None  # the version's ``OverrunRange`` (P10/P50/P90), when it has one


@dataclass(frozen=True)
class ModelCard:
    """A version's model card (JSON and Markdown) and its latest drift measurement.

    ``drift`` is the latest check by ``pmo-risk retrain`` when there was one (``drift_source``
    "retrain", with ``checked_at``), else the card's drift at training time ("training"), else
    empty ("none").
    """

    target: str
    version: str
    run_id: str
    card: dict[str, Any] | None
    markdown: str | None
    drift_source: str
    drift_checked_at: str | None
    drift_flagged: list[str]
    drift: list[dict[str, Any]]

    @property
    def limitations(self) -> list[str]:
        return [str(x) for x in (self.card or {}).get("limitations", [])]


@dataclass(frozen=True)
class BacktestRecord:
    """The latest finished backtest run covering a target: when, which run, every figure."""

    target: str
    run_id: str
    started_at: datetime
    figures: dict[str, Any]
    """The target's entry of ``backtest.json`` (folds, cut-offs, metrics by stage...)."""


@dataclass(frozen=True)
class ModelInfo:
    """One registered version: its aliases and the metrics of the run that made it."""

    target: str
    name: str
    version: str
    aliases: tuple[str, ...]
    run_id: str
    created_at: datetime
    metrics: dict[str, float]


class ModelRegistry:
    """Registry of the per-target risk models (``pmo-risk-schedule``, ``pmo-risk-cost``)."""

    def __init__(
        self,
        tracking_uri: str,
        artifact_root: Path | None = None,
        *,
        name_prefix: str = "pmo-risk",
        experiment: str = EXPERIMENT,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.name_prefix = name_prefix
        self.experiment = experiment
        self._client_obj: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        return cls(
            settings.mlflow_uri, settings.artifact_root, name_prefix=settings.model_name_prefix
        )

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def _client(self) -> Any:
        if self._client_obj is None:
            from mlflow.tracking import MlflowClient

            self._client_obj = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client_obj

    def model_name(self, target: str) -> str:
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")
        return f"{self.name_prefix}-{target}"

    def _experiment_id(self) -> str:
        exp = self._client.get_experiment_by_name(self.experiment)
        if exp is not None:
            return str(exp.experiment_id)
        location = self.artifact_root.resolve().as_uri() if self.artifact_root else None
        return str(self._client.create_experiment(self.experiment, artifact_location=location))

    # -- write --------------------------------------------------------------------------------
    def log_training(
        self,
        *,
        target: str,
        model: Any,
        X_example: pd.DataFrame,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        feature_names: list[str],
        figures: Mapping[str, Any] | None = None,
        texts: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        band_cuts: tuple[float, ...] | None = None,
        band_names: tuple[str, ...] | None = None,
        history_example: pd.DataFrame | None = None,
        ranges: Any | None = None,
    ) -> str:
        """Log one target's training run (params, metrics, plots, model with signature).

        The model is logged as a pyfunc on raw project history (``model_registry.pyfunc``)
        wrapping ``model`` (and ``ranges``, the overrun-size model, when given);
        ``history_example`` (input records) becomes its input example.
        Returns the run id. Non-finite metrics are skipped (MLflow rejects NaN in some stores).
        """
        import math

        import mlflow
        import mlflow.pyfunc

        from model_registry import pyfunc

        experiment_id = self._experiment_id()
        defaults = Settings.model_fields
        config = {
            "target": target,
            "band_cuts": list(band_cuts or defaults["band_cuts"].default),
            "band_names": list(band_names or defaults["band_names"].default),
            "features": list(feature_names),
        }
        with (
            _pinned(self.tracking_uri),
            mlflow.start_run(experiment_id=experiment_id, run_name=f"train-{target}") as run,
        ):
            mlflow.set_tags({"target": target, **(tags or {})})
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            clean = {
                k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))
            }
            if clean:
                mlflow.log_metrics(clean)
            mlflow.log_dict({"features": feature_names}, "features.json")
            for name, fig in (figures or {}).items():
                mlflow.log_figure(fig, f"plots/{name}.png")
            for name, text in (texts or {}).items():
                mlflow.log_text(text, name)
            with tempfile.TemporaryDirectory(prefix="pmo-risk-model-") as tmp:
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=pyfunc.RiskHistoryModel(),
                    artifacts=pyfunc.write_artifacts(Path(tmp), model, config, ranges),
                    signature=pyfunc.signature(
                        [f.removeprefix("attr_") for f in feature_names if f.startswith("attr_")]
                    ),
                    input_example=history_example,
                    code_paths=pyfunc.code_paths(),
                    pip_requirements=model_requirements(),
                )
            mlflow.set_tags({"model_uri": info.model_uri, "model_id": info.model_id or ""})
            return str(run.info.run_id)

    def register(self, run_id: str, target: str) -> str:
        """Register the run's model as a new version: alias challenger, champion if none yet."""
        import mlflow

        name = self.model_name(target)
        client = self._client
        try:
            client.get_registered_model(name)
        except Exception:
            client.create_registered_model(
                name, description=f"pmo-risk: probability of {target} overrun"
            )
        tags = self._client.get_run(run_id).data.tags
        model_id = tags.get("model_id") or None
        with _pinned(self.tracking_uri):
            source = (
                mlflow.get_logged_model(model_id).artifact_location
                if model_id
                else f"runs:/{run_id}/model"
            )
        mv = client.create_model_version(name, source, run_id=run_id, model_id=model_id)
        version = str(mv.version)
        client.set_registered_model_alias(name, CHALLENGER, version)
        if self.version_for(target, CHAMPION) is None:
            client.set_registered_model_alias(name, CHAMPION, version)
        return version

    def promote(self, target: str, version: str | None = None) -> str:
        """Point ``champion`` at ``version`` (default: the current challenger)."""
        name = self.model_name(target)
        if version is None:
            version = self.version_for(target, CHALLENGER)
            if version is None:
                raise ModelNotAvailable(f"no challenger registered for {name}")
        try:
            self._client.get_model_version(name, version)
        except Exception as exc:
            raise ModelNotAvailable(f"{name} has no version {version}") from exc
        self._client.set_registered_model_alias(name, CHAMPION, version)
        return version

    def log_run(
        self,
        *,
        run_name: str,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        texts: Mapping[str, str] | None = None,
    ) -> str:
        """Log a run without a model (e.g. a retraining decision); returns its id."""
        import math

        client = self._client
        run = client.create_run(self._experiment_id(), run_name=run_name, tags=dict(tags or {}))
        run_id = str(run.info.run_id)
        try:
            for k, v in (params or {}).items():
                client.log_param(run_id, k, str(v)[:500])
            for k, value in (metrics or {}).items():
                if value is not None and math.isfinite(float(value)):
                    client.log_metric(run_id, k, float(value))
            for name, text in (texts or {}).items():
                client.log_text(run_id, text, name)
        except BaseException:
            client.set_terminated(run_id, status="FAILED")
            raise
        client.set_terminated(run_id, status="FINISHED")
        return run_id

    def set_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Add tags to a (finished) run."""
        for k, v in tags.items():
            self._client.set_tag(run_id, k, v)

    def set_version_tags(self, target: str, version: str, tags: Mapping[str, str]) -> None:
        """Add tags to a registered version (e.g. the latest drift check)."""
        name = self.model_name(target)
        for k, v in tags.items():
            self._client.set_model_version_tag(name, version, k, v)

    # -- read ---------------------------------------------------------------------------------
    def version_details(self, target: str, version: str) -> tuple[str, dict[str, str]]:
        """(run id, tags) of a registered version; ``ModelNotAvailable`` if there is none."""
        name = self.model_name(target)
        try:
            mv = self._client.get_model_version(name, version)
        except Exception as exc:
            raise ModelNotAvailable(f"{name} has no version {version}") from exc
        return str(mv.run_id), {str(k): str(v) for k, v in (mv.tags or {}).items()}

    def model_card(self, target: str, version: str) -> ModelCard:
        """The card of a registered version and its latest drift (``ModelCard``)."""
        run_id, tags = self.version_details(target, version)
        card = self.run_artifact_json(run_id, MODEL_CARD_JSON)
        card = card if isinstance(card, dict) else None
        markdown = self.run_artifact_text(run_id, MODEL_CARD_MD)
        source, checked_at, flagged, features = "none", None, [], []
        training = (card or {}).get("drift") or {}
        if DRIFT_CHECKED_AT in tags:
            source, checked_at = "retrain", tags[DRIFT_CHECKED_AT]
            flagged = [f for f in tags.get(DRIFT_FLAGGED, "").split(",") if f]
            decision = self.run_artifact_json(tags.get(DRIFT_RUN_ID, ""), DECISION_JSON) or {}
            features = list(decision.get("drift") or [])
        elif training.get("measured"):
            source, flagged = "training", list(training.get("flagged") or [])
            features = list(training.get("features") or [])
        return ModelCard(
            target, version, run_id, card, markdown, source, checked_at, flagged, features
        )

    def run_artifact_json(self, run_id: str, path: str) -> Any:
        """A JSON artifact of a run, parsed, or None when absent or unreadable."""
        text = self.run_artifact_text(run_id, path)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None

    def latest_backtest(self, target: str, *, runs: int = 50) -> BacktestRecord | None:
        """The newest finished run of ``BACKTEST_EXPERIMENT`` that backtested ``target`` and
        kept its ``backtest.json``; None when there is none (or the registry cannot be read)."""
        try:
            exp = self._client.get_experiment_by_name(BACKTEST_EXPERIMENT)
            if exp is None:
                return None
            found = self._client.search_runs(
                [exp.experiment_id],
                filter_string="attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC"],
                max_results=runs,
            )
        except Exception:
            return None
        for run in found:
            if target not in str(run.data.params.get("targets", "")).split(","):
                continue
            report = self.run_artifact_json(run.info.run_id, BACKTEST_JSON)
            figures = (report or {}).get("targets", {}).get(target)
            if isinstance(figures, dict):
                started = datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC)
                return BacktestRecord(target, run.info.run_id, started, figures)
        return None

    def latest_backtests(self, targets: Iterable[str]) -> dict[str, BacktestRecord | None]:
        """``latest_backtest`` of each target."""
        return {t: self.latest_backtest(t) for t in targets}

    def version_for(self, target: str, alias: str) -> str | None:
        """The version an alias points at, or None."""
        try:
            mv = self._client.get_model_version_by_alias(self.model_name(target), alias)
        except Exception:
            return None
        return str(mv.version)

    def alias_version(self, target: str, alias: str) -> str | None:
        """The version an alias points at; None when there is none; raises when the registry
        cannot be read (unlike ``version_for``, which says None to both)."""
        from mlflow.exceptions import MlflowException

        name = self.model_name(target)
        try:
            mv = self._client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise
        return str(mv.version)

    def load(self, target: str, alias: str = CHAMPION) -> LoadedModel:
        """Load a target's model by alias; ``ModelNotAvailable`` if there is none."""
        name = self.model_name(target)
        try:
            mv = self._client.get_model_version_by_alias(name, alias)
        except Exception as exc:
            raise ModelNotAvailable(f"no {alias} model registered for {name}") from exc
        return self.load_version(target, str(mv.version), alias=alias)

    def load_version(self, target: str, version: str, *, alias: str = CHAMPION) -> LoadedModel:
        """Load one registered version of a target's model (``alias`` is what it is known as)."""
        name = self.model_name(target)
        try:
            mv = self._client.get_model_version(name, version)
        except Exception as exc:
            raise ModelNotAvailable(f"{name} has no version {version}") from exc
        model = self.load_classifier(f"models:/{name}/{mv.version}")
        ranges = self.load_ranges(f"models:/{name}/{mv.version}")
        run = self._client.get_run(mv.run_id)
        features = list(getattr(model, "feature_names_in_", []))
        return LoadedModel(
            target=target,
            name=name,
            version=str(mv.version),
            alias=alias,
            model=model,
            run_id=str(mv.run_id),
            trained_at=datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC),
            metrics=dict(run.data.metrics),
            feature_names=features,
            params=dict(run.data.params),
            ranges=ranges,
        )

    def load_ranges(self, uri: str) -> Any | None:
        """The ``OverrunRange`` of a registered model (the pyfunc's ``ranges`` artifact), or
        None when the version has none (forward targets, too few finished projects)."""
        import pickle

        from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

        with _pinned(self.tracking_uri), tempfile.TemporaryDirectory() as tmp:
            repo = ModelsArtifactRepository(uri)
            try:
                names = {Path(f.path).name for f in repo.list_artifacts("artifacts")}
            except Exception:
                return None
            if "ranges.pkl" not in names:
                return None
            pickled = Path(repo.download_artifacts("artifacts/ranges.pkl", tmp))
            with pickled.open("rb") as fh:
                return pickle.load(fh)

    def load_classifier(self, uri: str) -> Any:
        """The ``RiskClassifier`` of a registered model: the pyfunc's ``classifier`` artifact
        (read without the pyfunc layer), or an older sklearn-flavour model."""
        import pickle

        import mlflow.artifacts
        import mlflow.sklearn
        from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

        with _pinned(self.tracking_uri), tempfile.TemporaryDirectory() as tmp:
            repo = ModelsArtifactRepository(uri)
            try:
                pickled = Path(repo.download_artifacts("artifacts/classifier.pkl", tmp))
            except Exception:  # an older sklearn-flavour model: the whole folder
                local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
                return mlflow.sklearn.load_model(local)
            with pickled.open("rb") as fh:
                return pickle.load(fh)

    def list_models(self) -> list[ModelInfo]:
        """Every registered version of every target, newest first."""
        out: list[ModelInfo] = []
        for target in TARGETS:
            name = self.model_name(target)
            try:
                versions = self._client.search_model_versions(f"name = '{name}'")
                aliases = dict(self._client.get_registered_model(name).aliases or {})
            except Exception:
                continue
            for mv in versions:
                try:
                    metrics = dict(self._client.get_run(mv.run_id).data.metrics)
                except Exception:
                    metrics = {}
                out.append(
                    ModelInfo(
                        target=target,
                        name=name,
                        version=str(mv.version),
                        aliases=tuple(
                            sorted(a for a, v in aliases.items() if str(v) == str(mv.version))
                        ),
                        run_id=str(mv.run_id),
                        created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
                        metrics=metrics,
                    )
                )
        out.sort(key=lambda m: (m.target, -int(m.version)))
        return out

    def run_artifact_text(self, run_id: str, path: str) -> str | None:
        """A text artifact of a run (e.g. the metrics table), or None."""
        try:
            with tempfile.TemporaryDirectory() as tmp:
                local = self._client.download_artifacts(run_id, path, tmp)
                return Path(local).read_text()
        except Exception:
            return None

    # issue 5: the model page lists and shows a run's artifacts (plots, model card, backtest)
    def run_artifact_paths(self, run_id: str, path: str | None = None) -> list[str]:
        """Every file artifact of a run (recursively), or [] when the run is unknown."""
        try:
            entries = self._client.list_artifacts(run_id, path)
        except Exception:
            return []
        out: list[str] = []
        for e in entries:
            out += self.run_artifact_paths(run_id, e.path) if e.is_dir else [str(e.path)]
        return out

    def run_artifact_bytes(self, run_id: str, path: str) -> bytes | None:
        """A binary artifact of a run (e.g. ``plots/calibration.png``), or None."""
        try:
            with tempfile.TemporaryDirectory() as tmp:
                local = self._client.download_artifacts(run_id, path, tmp)
                return Path(local).read_bytes()
        except Exception:
            return None


#: What loading a logged model needs: our estimators are pickled with cloudpickle and unpickle
#: into ``risk_model`` (the pmo-risk package) on top of LightGBM and scikit-learn.
MODEL_PACKAGES = ("pmo-risk", "lightgbm", "scikit-learn", "pandas", "numpy", "cloudpickle")


def model_requirements() -> list[str]:
    """Pinned requirements of a logged model, read from the installed distributions.

    Passed to MLflow explicitly: its own inference imports the model in a subprocess (about
    10 s per logged model) and cannot name the pmo-risk package anyway.
    """
    from importlib.metadata import PackageNotFoundError, version

    out: list[str] = []
    for name in MODEL_PACKAGES:
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            out.append(name)
    return out


def dumps_metrics(metrics: Mapping[str, float]) -> str:
    return json.dumps(dict(metrics), indent=2, sort_keys=True)
