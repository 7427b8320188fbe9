"""The glue behind the routes: models on the app, request frames, scoring, the portfolio cache.

Routes call one function here each and return what it gives; every query, every frame and
every call into ``risk_model`` / ``features`` / ``model_registry`` lives in this module.
"""

from __future__ import annotations

import functools
import logging
import math
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypedDict, cast

import pandas as pd

from api.observability import Metrics
from api.schemas import (
    ContributionOut,
    DriftFeatureOut,
    DriverOut,
    ImportOut,
    LatestOut,
    ModelCardOut,
    ModelOut,
    ModelsOut,
    OverrunRangeOut,
    PortfolioItemOut,
    PortfolioRisksOut,
    ProjectDetailOut,
    ProjectOut,
    ProjectScoreOut,
    ReadyOut,
    ReloadStatusOut,
    RiskPointOut,
    ScheduleCheckOut,
    ScheduleQualityOut,
    ScoreIn,
    ScoreOut,
    SignalPointOut,
    SnapshotOut,
    TargetExplanationOut,
    TargetScoreOut,
)
from api.uploads import Upload, save_uploads
from features.pipeline import build_features
from features.schedule_quality import ScheduleFindings, latest_schedule_findings
from features.sources import importer
from model_registry.registry import CHAMPION, LoadedModel, ModelCard, ModelRegistry
from risk_model.config import TARGETS, Settings, band_of
from risk_model.exceptions import (
    Forbidden,
    ModelNotAvailable,
    Problem,
    UnknownProject,
    ValidationFailed,
)
from risk_model.portfolio import refresh_scores, score_features
from risk_model.ranges import project_overrun
from risk_model.risk_register import RiskRegister
from risk_model.schemas import PROJECT_FIELDS, SNAPSHOT_FIELDS
from risk_model.score_store import RankFilter, ScoreState, ScoreStore, StoredScore
from risk_model.scoring import OverrunRangeScore, ProjectScore, TargetScore, latest_rows
from risk_model.store import Store
from risk_model.validation import validate_tables

log = logging.getLogger(__name__)

SIGNALS: tuple[str, ...] = ("spi", "cpi", "spi_t", "forecast_slip", "forecast_cost_growth")


# -- numbers and dates out of pandas ---------------------------------------------------------
def num(value: Any) -> float | None:
    """A finite float, or None (NaN, infinity, None, non-numbers)."""
    if value is None or isinstance(value, bool | str):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def day(value: Any) -> date | None:
    """A calendar date from a Timestamp / datetime / date, or None for NaT and None."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return None
    if isinstance(value, pd.Timestamp):
        return cast(date, value.date())
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    return cast(date, pd.Timestamp(value).date())


def scalar(value: Any) -> float | str | None:
    """A JSON-safe feature / attribute value: finite number, string, or None."""
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date().isoformat()
    return num(value)


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA:
        return None
    return str(value)


@functools.cache
def api_version() -> str:
    """The installed package version (``0.0.0`` when not installed); read once."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pmo-risk")
    except PackageNotFoundError:
        return "0.0.0"


# -- models on the app -----------------------------------------------------------------------
@dataclass(frozen=True)
class ModelState:
    """The champion models loaded at start-up, and why any target has none."""

    loaded: Mapping[str, LoadedModel]
    missing: Mapping[str, str]

    @property
    def ready(self) -> bool:
        """At least one target has a model: the service scores the targets it has."""
        return bool(self.loaded)

    def require(self, target: str | None = None) -> Mapping[str, LoadedModel]:
        """The loaded models (that of ``target`` must be among them); else ``ModelNotAvailable``."""
        if not self.loaded or (target is not None and target not in self.loaded):
            names = target or ", ".join(t for t in TARGETS if t not in self.loaded)
            raise ModelNotAvailable(f"no champion model loaded for: {names}")
        return self.loaded

    def versions(self) -> dict[str, str]:
        return {t: m.version for t, m in self.loaded.items()}

    def cache_key(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.versions().items()))


def load_champions(
    registry: ModelRegistry, targets: Iterable[str] = TARGETS, alias: str = CHAMPION
) -> ModelState:
    """Load each target's model by alias, once; a failure leaves the target missing."""
    loaded: dict[str, LoadedModel] = {}
    missing: dict[str, str] = {}
    for target in targets:
        try:
            loaded[target] = registry.load(target, alias=alias)
        except ModelNotAvailable as exc:
            missing[target] = str(exc)
            log.warning("model not available for %s: %s", target, exc)
        except Exception as exc:  # a broken artifact must not stop the service
            missing[target] = f"could not load the {alias} model: {exc}"
            log.exception("could not load the %s model of %s", alias, target)
    return ModelState(loaded=loaded, missing=missing)


def readiness(models: ModelState) -> ReadyOut:
    return ReadyOut(
        ready=models.ready,
        models=cast(Any, models.versions()),
        missing=cast(Any, dict(models.missing)),
    )


def _card(registry: ModelRegistry | None, m: LoadedModel) -> ModelCard | None:
    """The loaded version's card and drift; None when it cannot be read (never an error)."""
    if registry is None:
        return None
    try:
        return registry.model_card(m.target, m.version)
    except Exception:  # a missing or unreadable card must not break the model listing
        log.warning("no model card for %s version %s", m.target, m.version, exc_info=True)
        return None


def models_out(
    models: ModelState,
    registry: ModelRegistry | None = None,
    reload: Mapping[str, Any] | None = None,
) -> ModelsOut:
    """The loaded models with their cards, what is missing, and (``reload``) how the
    champion alias is followed."""
    out: list[ModelOut] = []
    for t in TARGETS:
        m = models.loaded.get(t)
        if m is None:
            continue
        card = _card(registry, m)
        out.append(
            ModelOut(
                target=cast(Any, m.target),
                name=m.name,
                version=m.version,
                alias=m.alias,
                run_id=m.run_id,
                trained_at=m.trained_at,
                metrics={k: v for k, v in m.metrics.items() if num(v) is not None},
                feature_count=len(m.feature_names),
                limitations=card.limitations if card else [],
                drift_flagged=card.drift_flagged if card else [],
                drift_source=cast(Any, card.drift_source if card else "none"),
                drift_checked_at=card.drift_checked_at if card else None,
            )
        )
    return ModelsOut(
        models=out,
        missing=cast(Any, dict(models.missing)),
        reload=ReloadStatusOut(**reload) if reload is not None else None,
    )


def record_drift(metrics: Metrics, models: ModelState, registry: ModelRegistry | None) -> None:
    """Put the drift flags of each loaded model's card (``GET /v1/models`` shows the same)
    into the metrics: one gauge per (target, feature), and the count flagged per target."""
    import time

    for target, m in models.loaded.items():
        card = _card(registry, m)
        if card is not None:
            metrics.set_drift(target, {str(f["feature"]): bool(f["flagged"]) for f in card.drift})
    metrics.drift_read_at = time.monotonic()


def model_card_out(models: ModelState, registry: ModelRegistry, target: str) -> ModelCardOut:
    """The model card of the loaded model of ``target`` (``ModelNotAvailable`` if none)."""
    m = models.require(target)[target]
    card = registry.model_card(m.target, m.version)
    if card.card is None:
        raise ModelNotAvailable(f"{m.name} version {m.version} has no model card")
    return ModelCardOut(
        target=cast(Any, target),
        version=card.version,
        run_id=card.run_id,
        limitations=card.limitations,
        drift_source=cast(Any, card.drift_source),
        drift_checked_at=card.drift_checked_at,
        drift_flagged=card.drift_flagged,
        drift=[
            DriftFeatureOut(feature=str(f["feature"]), psi=num(f.get("psi")), flagged=f["flagged"])
            for f in card.drift
        ],
        card=card.card,
        markdown=card.markdown,
    )


# -- scores to response models ---------------------------------------------------------------
def _target_out(score: TargetScore, version: str | None) -> TargetScoreOut:
    return TargetScoreOut(
        probability=num(score.probability),
        band=score.band if num(score.probability) is not None else None,
        drivers=[
            DriverOut(
                feature=d.feature,
                value=scalar(d.value),
                contribution=num(d.contribution),
                points=num(d.points),
                text=d.text,
            )
            for d in (score.drivers or [])
        ],
        reason=score.reason,
        model_version=getattr(score, "model_version", None) or version,
    )


def _project_score_out(ps: ProjectScore, versions: Mapping[str, str]) -> ProjectScoreOut:
    return ProjectScoreOut(
        project_id=str(ps.project_id),
        as_of=day(ps.as_of),
        scores=cast(Any, {t: _target_out(s, versions.get(t)) for t, s in ps.scores.items()}),
    )


def _score(
    models: ModelState,
    rows: pd.DataFrame,
    settings: Settings,
    *,
    explain: bool,
    full: bool = False,
) -> list[ProjectScore]:
    """Score every feature row with every champion (rows short of data get a reason)."""
    if rows.empty:
        return []
    return score_features(
        rows, models.require(), settings, explain=explain, full=full, latest_only=False
    )


# -- POST /v1/score: request body -> raw frames ----------------------------------------------
def _cell(value: Any) -> str | None:
    """A request value as the text a spreadsheet cell would hold."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass
class RequestFrames:
    """The body as raw string frames, and where each frame row came from in the body."""

    projects: pd.DataFrame
    snapshots: pd.DataFrame
    snapshot_origin: list[tuple[int, int]]
    problems: list[Problem] = field(default_factory=list)

    def locate(self, problem: Problem) -> Problem:
        """A validation problem re-addressed to the body: ``body.projects[i]...``, row = index."""
        if problem.row is None:
            return problem
        i = problem.row - 2
        if problem.file == "body.projects" and 0 <= i < len(self.projects):
            return Problem(
                f"body.projects[{i}].project", None, problem.column, problem.message, problem.value
            )
        if problem.file == "body.snapshots" and 0 <= i < len(self.snapshot_origin):
            p, s = self.snapshot_origin[i]
            return Problem(
                f"body.projects[{p}].snapshots", s, problem.column, problem.message, problem.value
            )
        return problem


def request_frames(body: ScoreIn) -> RequestFrames:
    """Turn the body into the raw frames ``validate_tables`` reads (strings, None for blank)."""
    problems: list[Problem] = []
    project_rows: list[dict[str, str | None]] = []
    snapshot_rows: list[dict[str, str | None]] = []
    origin: list[tuple[int, int]] = []
    attr_names: list[str] = []
    for i, item in enumerate(body.projects):
        data = item.project.model_dump(exclude={"attributes"})
        row = {k: _cell(data.get(k)) for k in PROJECT_FIELDS}
        for name, value in item.project.attributes.items():
            if name in PROJECT_FIELDS:
                problems.append(
                    Problem(
                        f"body.projects[{i}].project",
                        None,
                        f"attributes.{name}",
                        f"attribute {name!r} clashes with a project field",
                        _cell(value),
                    )
                )
                continue
            if name not in attr_names:
                attr_names.append(name)
            row[name] = _cell(value)
        project_rows.append(row)
        pid = item.project.project_id
        for j, snap in enumerate(item.snapshots):
            s = snap.model_dump()
            if s.get("project_id") not in (None, pid):
                problems.append(
                    Problem(
                        f"body.projects[{i}].snapshots",
                        j,
                        "project_id",
                        f"snapshot for project {s['project_id']!r} listed under {pid!r}",
                        s["project_id"],
                    )
                )
            s["project_id"] = pid
            snapshot_rows.append({k: _cell(s.get(k)) for k in SNAPSHOT_FIELDS})
            origin.append((i, j))
    pcols = [*PROJECT_FIELDS, *attr_names]
    projects = pd.DataFrame(project_rows, columns=pcols, dtype=object)
    projects = projects.where(projects.notna(), None)  # attributes a project lacks: blank
    snapshots = pd.DataFrame(snapshot_rows, columns=list(SNAPSHOT_FIELDS), dtype=object)
    return RequestFrames(projects, snapshots, origin, problems)


def validate_request(body: ScoreIn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical frames of a score request; ``ValidationFailed`` listing every problem."""
    frames = request_frames(body)
    problems = list(frames.problems)
    projects = snapshots = None
    try:
        projects, snapshots = validate_tables(
            frames.projects,
            frames.snapshots,
            projects_name="body.projects",
            snapshots_name="body.snapshots",
        )
    except ValidationFailed as exc:
        problems += [frames.locate(p) for p in exc.problems]
    if problems:
        raise ValidationFailed(problems)
    assert projects is not None and snapshots is not None
    return projects, snapshots


def check_limits(body: ScoreIn, settings: Settings) -> None:
    """422 when a body passes the configured per-call limits (the schema holds the hard caps)."""
    problems: list[Problem] = []
    if len(body.projects) > settings.max_projects_per_call:
        problems.append(
            Problem(
                "body.projects",
                None,
                None,
                f"at most {settings.max_projects_per_call} projects per call; "
                f"got {len(body.projects)}",
            )
        )
    problems += [
        Problem(
            f"body.projects[{i}].snapshots",
            None,
            None,
            f"at most {settings.max_snapshots_per_project} reports per project; "
            f"got {len(item.snapshots)}",
        )
        for i, item in enumerate(body.projects)
        if len(item.snapshots) > settings.max_snapshots_per_project
    ]
    if problems:
        raise ValidationFailed(problems)


def score_request(body: ScoreIn, models: ModelState, settings: Settings) -> ScoreOut:
    """Score the projects of a request at their latest report (or ``as_of``); store nothing."""
    check_limits(body, settings)
    models.require()
    projects, snapshots = validate_request(body)
    if body.as_of is not None:
        snapshots = snapshots.loc[snapshots["as_of"] <= pd.Timestamp(body.as_of)]
        snapshots = snapshots.reset_index(drop=True)
    features = build_features(projects, snapshots)
    rows = latest_rows(features)
    scores = {str(s.project_id): s for s in _score(models, rows, settings, explain=body.explain)}
    versions = models.versions()
    results = [
        _project_score_out(scores[item.project.project_id], versions)
        for item in body.projects
        if item.project.project_id in scores
    ]
    return ScoreOut(results=results, model_versions=cast(Any, versions))


def observe_scores(metrics: Metrics, out: ScoreOut) -> None:
    """Record the probabilities of a score response in the metrics, per target."""
    per_target: dict[str, list[float | None]] = {}
    for result in out.results:
        for target, score in result.scores.items():
            per_target.setdefault(str(target), []).append(score.probability)
    for name, probabilities in per_target.items():
        metrics.observe_scores(name, probabilities)


# -- GET /v1/portfolio/risks: scores of the whole store, cached -------------------------------
@dataclass(frozen=True)
class PortfolioEntry:
    project_id: str
    name: str | None
    portfolio: str | None
    category: str | None
    as_of: date | None
    scores: dict[str, TargetScoreOut]
    previous: dict[str, float | None] = field(default_factory=dict)
    """Probability per target at the project's previous report (None when it has none)."""

    def probability(self, target: str) -> float | None:
        s = self.scores.get(target)
        return None if s is None else s.probability


@dataclass(frozen=True)
class PortfolioScores:
    """Every active project scored at its latest report, under one (revision, versions) key."""

    revision: int
    versions: tuple[tuple[str, str], ...]
    entries: tuple[PortfolioEntry, ...]
    key: tuple[int, tuple[tuple[str, str], ...]] | None = None
    """(store revision, loaded model versions) it was computed for, when not (revision,
    versions): stored scores of older models serve until the background rescoring ends."""


def _stored_out(score: StoredScore) -> TargetScoreOut:
    p = num(score.probability)
    return TargetScoreOut(
        probability=p,
        band=score.band if p is not None else None,
        drivers=[
            DriverOut(
                feature=d.feature,
                value=scalar(d.value),
                contribution=num(d.contribution),
                points=num(d.points),
                text=d.text,
            )
            for d in score.drivers
        ],
        reason=score.reason,
        model_version=score.model_version,
    )


def refresh_stored_scores(store: Store, models: ModelState, settings: Settings) -> ScoreState:
    """Recompute and store every project's scores with the loaded champions (issue 6)."""
    scores = ScoreStore(store).init()
    return refresh_scores(store, scores, models.require(), settings)


def stored_state(store: Store, models: ModelState, settings: Settings) -> ScoreState:
    """The stored scores' state, recomputed first when they do not describe the store's data.

    Scores made by older model versions are kept (a swap rescores them in the background).
    """
    state = ScoreStore(store).state()
    if state is None or state.revision != int(store.revision()):
        state = refresh_stored_scores(store, models, settings)
    return state


def compute_portfolio(
    store: Store, models: ModelState, settings: Settings, revision: int
) -> PortfolioScores:
    """Every active project at its latest report, from the stored scores.

    The stored scores are recomputed first when they are older than the store's data
    (``risk_model.portfolio.refresh_scores``, the same scoring the CLI uses).
    """
    models.require()
    state = stored_state(store, models, settings)
    latest = ScoreStore(store).latest()
    projects = store.projects()
    entries: list[PortfolioEntry] = []
    if len(projects):
        active = projects.loc[(projects["status"].fillna("active") == "active").to_numpy()]
        for rec in active[["project_id", "name", "portfolio", "category"]].to_dict("records"):
            pid = str(rec["project_id"])
            stored = latest.get(pid)
            if not stored:
                continue
            first = next(iter(stored.values()))
            entries.append(
                PortfolioEntry(
                    project_id=pid,
                    name=text(rec.get("name")),
                    portfolio=text(rec.get("portfolio")),
                    category=text(rec.get("category")),
                    as_of=first.as_of,
                    scores={t: _stored_out(v) for t, v in stored.items()},
                    previous={t: num(v.previous_probability) for t, v in stored.items()},
                )
            )
    return PortfolioScores(
        state.revision,
        tuple(sorted(state.versions.items())),
        tuple(entries),
        key=(revision, models.cache_key()),
    )


class PortfolioCache:
    """Portfolio scores keyed by (store revision, model versions); recomputed only on change."""

    def __init__(
        self, compute: Callable[[Store, ModelState, Settings, int], PortfolioScores] | None = None
    ) -> None:
        self._compute = compute or compute_portfolio
        self._lock = threading.Lock()
        self._value: PortfolioScores | None = None
        self.computations = 0

    def _fresh(self, revision: int, models: ModelState) -> PortfolioScores | None:
        v = self._value
        if v is not None and (v.key or (v.revision, v.versions)) == (revision, models.cache_key()):
            return v
        return None

    def invalidate(self) -> None:
        """Forget the cached value (stored scores were rewritten)."""
        with self._lock:
            self._value = None

    def get(self, store: Store, models: ModelState, settings: Settings) -> PortfolioScores:
        models.require()
        revision = int(store.revision())
        value = self._fresh(revision, models)
        if value is not None:
            return value
        with self._lock:  # one computation at a time; latecomers reuse it
            value = self._fresh(revision, models)
            if value is None:
                value = self._compute(store, models, settings, revision)
                self._value = value
                self.computations += 1
            return value


def check_page_size(limit: int, settings: Settings) -> None:
    """422 when a page is larger than ``settings.max_page_size``."""
    if limit > settings.max_page_size:
        raise ValidationFailed(
            [
                Problem(
                    "query",
                    None,
                    "limit",
                    f"at most {settings.max_page_size} items per page",
                    str(limit),
                )
            ]
        )


def in_scope(portfolio: str | None, scope: frozenset[str] | None) -> bool:
    """Whether a project of ``portfolio`` is visible to a key scoped to ``scope``."""
    return scope is None or (portfolio is not None and portfolio in scope)


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _check_band(band: str | None, settings: Settings) -> None:
    if band is not None and band.lower() not in settings.band_names:
        raise ValidationFailed(
            [
                Problem(
                    "query",
                    None,
                    "band",
                    f"band must be one of {', '.join(settings.band_names)}",
                    band,
                )
            ]
        )


class RankArgs(TypedDict):
    """One ranking request: what ``stored_ranking`` and ``portfolio_risks`` both take."""

    target: str
    limit: int
    portfolio: str | None
    category: str | None
    band: str | None
    scope: frozenset[str] | None


def stored_ranking(
    store: Store,
    models: ModelState,
    settings: Settings,
    *,
    target: str,
    limit: int,
    portfolio: str | None = None,
    category: str | None = None,
    band: str | None = None,
    scope: frozenset[str] | None = None,
) -> PortfolioRisksOut | None:
    """The ranking read from the stored scores (the database orders, filters and cuts;
    only the page's projects are read in full), as ``portfolio_risks`` ranks them.

    None when the stored scores do not describe the store's current data (then the caller
    ranks through ``PortfolioCache``, which rescores first).
    """
    models.require()
    scores = ScoreStore(store)
    state = scores.state()
    if state is None or state.revision != int(store.revision()):
        return None
    if target not in state.versions:
        raise ModelNotAvailable(f"no champion model loaded for: {target}")
    portfolio, category, band = _blank(portfolio), _blank(category), _blank(band)
    _check_band(band, settings)
    where = RankFilter(portfolio, category, band.lower() if band else None, scope)
    total, rows = scores.rank(target, limit, where)
    latest = scores.latest([r[0] for r in rows], contributions=False)
    items: list[PortfolioItemOut] = []
    for rank, (pid, name, port, cat) in enumerate(rows, start=1):
        stored = latest.get(str(pid), {})
        own = stored.get(target)
        if own is None:  # rewritten between the two reads: the next request sees it
            continue
        items.append(
            PortfolioItemOut(
                rank=rank,
                project_id=str(pid),
                name=text(name),
                portfolio=text(port),
                category=text(cat),
                as_of=own.as_of,
                probability=num(own.probability),
                band=own.band if num(own.probability) is not None else None,
                previous_probability=num(own.previous_probability),
                scores=cast(Any, {t: _stored_out(v) for t, v in stored.items()}),
            )
        )
    return PortfolioRisksOut(
        target=cast(Any, target),
        revision=state.revision,
        model_versions=cast(Any, dict(state.versions)),
        total=total,
        items=items,
    )


def portfolio_risks(
    scores: PortfolioScores,
    settings: Settings,
    *,
    target: str,
    limit: int,
    portfolio: str | None = None,
    category: str | None = None,
    band: str | None = None,
    scope: frozenset[str] | None = None,
) -> PortfolioRisksOut:
    """Rank the cached scores by ``target`` probability (unscorable last), filter, cut.

    ``scope``: the caller's portfolios (None: all); projects outside it are never listed.
    """
    if target not in dict(scores.versions):
        raise ModelNotAvailable(f"no champion model loaded for: {target}")
    portfolio, category, band = _blank(portfolio), _blank(category), _blank(band)
    _check_band(band, settings)
    chosen = [
        e
        for e in scores.entries
        if in_scope(e.portfolio, scope)
        and (portfolio is None or e.portfolio == portfolio)
        and (category is None or e.category == category)
        and (band is None or e.scores[target].band == band.lower())
    ]

    def key(e: PortfolioEntry) -> tuple[bool, float, str]:
        p = e.probability(target)
        return (p is None, -(p or 0.0), e.project_id)

    chosen.sort(key=key)
    items = [
        PortfolioItemOut(
            rank=rank,
            project_id=e.project_id,
            name=e.name,
            portfolio=e.portfolio,
            category=e.category,
            as_of=e.as_of,
            probability=e.probability(target),
            band=e.scores[target].band,
            previous_probability=e.previous.get(target),
            scores=cast(Any, e.scores),
        )
        for rank, e in enumerate(chosen[:limit], start=1)
    ]
    return PortfolioRisksOut(
        target=cast(Any, target),
        revision=scores.revision,
        model_versions=cast(Any, dict(scores.versions)),
        total=len(chosen),
        items=items,
    )


# -- GET /v1/projects/{id} -------------------------------------------------------------------
def _project_out(rec: Mapping[Any, Any]) -> ProjectOut:
    attributes = {str(k): scalar(v) for k, v in rec.items() if k not in PROJECT_FIELDS}
    return ProjectOut(
        project_id=str(rec["project_id"]),
        name=text(rec.get("name")),
        portfolio=text(rec.get("portfolio")),
        category=text(rec.get("category")),
        start_date=day(rec.get("start_date")),
        baseline_finish=day(rec.get("baseline_finish")),
        baseline_budget=num(rec.get("baseline_budget")),
        currency=text(rec.get("currency")),
        actual_finish=day(rec.get("actual_finish")),
        actual_cost=num(rec.get("actual_cost")),
        status=text(rec.get("status")),
        attributes=attributes,
    )


def _snapshot_out(rec: Mapping[Any, Any]) -> SnapshotOut:
    as_of = day(rec.get("as_of"))
    assert as_of is not None
    return SnapshotOut(
        as_of=as_of,
        phase=text(rec.get("phase")),
        percent_complete=num(rec.get("percent_complete")),
        planned_value=num(rec.get("planned_value")),
        earned_value=num(rec.get("earned_value")),
        actual_cost=num(rec.get("actual_cost")),
        forecast_finish=day(rec.get("forecast_finish")),
        forecast_cost=num(rec.get("forecast_cost")),
        budget=num(rec.get("budget")),
        rag=text(rec.get("rag")),
        open_risks=num(rec.get("open_risks")),
        open_issues=num(rec.get("open_issues")),
        change_requests=num(rec.get("change_requests")),
    )


def _contributions(score: TargetScore, row: Mapping[Any, Any]) -> list[ContributionOut]:
    raw = getattr(score, "contributions", None)
    if raw is None:
        return []
    items = raw.items() if isinstance(raw, Mapping) else pd.Series(raw).items()
    out = [
        ContributionOut(feature=str(f), value=scalar(row.get(str(f))), contribution=c)
        for f, v in items
        if str(f) != "base_value" and (c := num(v)) is not None
    ]
    out.sort(key=lambda c: -abs(c.contribution))
    return out


def _risk_point(as_of: date, probs: Mapping[str, float | None], settings: Settings) -> RiskPointOut:
    return RiskPointOut(
        as_of=as_of,
        probabilities=cast(Any, dict(probs)),
        bands=cast(
            Any, {t: band_of(p, settings) if p is not None else None for t, p in probs.items()}
        ),
    )


def _stored_project(store: Store, project_id: str, revision: int) -> list[StoredScore] | None:
    """The project's stored scores when they describe the store's current data, else None."""
    scores = ScoreStore(store)
    state = scores.state()
    if state is None or state.revision != revision:
        return None
    rows = scores.history(project_id)
    return rows if rows else None


def project_score_history(store: Store, project_id: str, settings: Settings) -> list[RiskPointOut]:
    """The stored probability per target at each of a project's reports (for pages).

    Empty when nothing is stored for the project yet; ``UnknownProject`` when it does not exist.
    """
    if store.projects(project_ids=[project_id]).empty:
        raise UnknownProject(project_id)
    by_date: dict[date, dict[str, float | None]] = {}
    for s in ScoreStore(store).history(project_id):
        if s.as_of is not None:
            by_date.setdefault(s.as_of, {})[s.target] = num(s.probability)
    return [_risk_point(d, probs, settings) for d, probs in sorted(by_date.items())]


def project_detail(
    store: Store,
    models: ModelState,
    settings: Settings,
    project_id: str,
    *,
    scope: frozenset[str] | None = None,
) -> ProjectDetailOut:
    """A project, its reports, key signals and model probability at each report, explained.

    Probabilities and explanations come from the stored scores when they are current (same
    store revision), else they are computed here. A project outside ``scope`` is reported
    as unknown (404), exactly like a missing one.
    """
    revision = int(store.revision())
    projects = store.projects(project_ids=[project_id])
    if projects.empty or not in_scope(text(projects.iloc[0].get("portfolio")), scope):
        raise UnknownProject(project_id)
    models.require()
    snapshots = store.snapshots(project_ids=[project_id])
    register = RiskRegister(store).frames([project_id])
    features = build_features(projects, snapshots, register=register).reset_index(drop=True)
    last = features.tail(1).reset_index(drop=True)
    row = last.iloc[0].to_dict() if len(last) else {}
    signals = [
        SignalPointOut(
            as_of=a,
            **{s: num(rec.get(s)) for s in SIGNALS},
        )
        for rec in features.to_dict("records")
        if (a := day(rec.get("as_of"))) is not None
    ]
    stored = _stored_project(store, project_id, revision)
    if stored is not None:
        risk_history, latest = _stored_detail(stored, row, settings)
    else:
        risk_history, latest = _live_detail(models, features, last, row, settings)
    rec = projects.iloc[0].to_dict()
    latest = _with_overrun(latest, models, last, rec)
    return ProjectDetailOut(
        project=_project_out(rec),
        snapshots=[_snapshot_out(r) for r in snapshots.to_dict("records")],
        signals=signals,
        risk_history=risk_history,
        latest=latest,
        schedule_quality=schedule_quality_out(latest_schedule_findings(snapshots, project_id)),
    )


def schedule_quality_out(findings: ScheduleFindings | None) -> ScheduleQualityOut | None:
    """DCMA findings as the API gives them (None when the project has no schedule report)."""
    if findings is None:
        return None
    return ScheduleQualityOut(
        as_of=findings.as_of,
        passed=findings.passed,
        computed=findings.computed,
        failed=[c.number for c in findings.failed],
        checks=[
            ScheduleCheckOut(
                number=c.number,
                title=c.title,
                meaning=c.meaning,
                value=num(c.value),
                value_text=c.value_text,
                threshold=c.threshold_text,
                result=cast(Any, c.result),
            )
            for c in findings.checks
        ],
    )


def _with_overrun(
    latest: LatestOut,
    models: ModelState,
    last: pd.DataFrame,
    rec: Mapping[Any, Any],
) -> LatestOut:
    """The latest scores with each outcome target's overrun range, where its model has one
    and the latest report was scored (the range model alone runs: the probability is known)."""
    if last.empty:
        return latest
    scores = dict(latest.scores)
    for target, loaded in models.require().items():
        ranges = loaded.ranges
        if ranges is None or target not in scores or scores[target].probability is None:
            continue
        p10, p50, p90 = map(
            float, ranges.predict(last.reindex(columns=ranges.feature_names())).iloc[0]
        )
        scores[target] = scores[target].model_copy(
            update={"overrun": overrun_out(OverrunRangeScore(p10, p50, p90), target, rec)}
        )
    return LatestOut(as_of=latest.as_of, scores=cast(Any, scores))


def overrun_out(overrun: OverrunRangeScore, target: str, rec: Mapping[Any, Any]) -> OverrunRangeOut:
    """An overrun range as ratios and, from the project's baseline, dates or costs."""
    ratios = (overrun.p10, overrun.p50, overrun.p90)
    return OverrunRangeOut(
        p10=overrun.p10,
        p50=overrun.p50,
        p90=overrun.p90,
        **project_overrun(ratios, target, {str(k): v for k, v in rec.items()}),
    )


def _stored_detail(
    stored: Sequence[StoredScore], row: Mapping[Any, Any], settings: Settings
) -> tuple[list[RiskPointOut], LatestOut]:
    by_date: dict[date, dict[str, float | None]] = {}
    latest_scores: dict[str, TargetExplanationOut] = {}
    latest_as_of: date | None = None
    for s in stored:
        if s.as_of is not None:
            by_date.setdefault(s.as_of, {})[s.target] = num(s.probability)
        if s.latest:
            latest_as_of = s.as_of
            contributions = [
                ContributionOut(feature=f, value=scalar(row.get(f)), contribution=c)
                for f, v in (s.contributions or {}).items()
                if (c := num(v)) is not None
            ]
            contributions.sort(key=lambda c: -abs(c.contribution))
            latest_scores[s.target] = TargetExplanationOut(
                **_stored_out(s).model_dump(),
                base_value=num(s.base_value),
                contributions=contributions,
            )
    history = [_risk_point(d, probs, settings) for d, probs in sorted(by_date.items())]
    return history, LatestOut(as_of=latest_as_of, scores=cast(Any, latest_scores))


def _live_detail(
    models: ModelState,
    features: pd.DataFrame,
    last: pd.DataFrame,
    row: Mapping[Any, Any],
    settings: Settings,
) -> tuple[list[RiskPointOut], LatestOut]:
    versions = models.versions()
    risk_history = [
        _risk_point(as_of, {t: num(s.probability) for t, s in ps.scores.items()}, settings)
        for ps in _score(models, features, settings, explain=False)
        if (as_of := day(ps.as_of)) is not None
    ]
    latest_scores: dict[str, TargetExplanationOut] = {}
    latest_as_of: date | None = None
    explained = _score(models, last, settings, explain=True, full=True)
    if explained:
        ps = explained[0]
        latest_as_of = day(ps.as_of)
        for t, s in ps.scores.items():
            base = _target_out(s, versions.get(t))
            latest_scores[t] = TargetExplanationOut(
                **base.model_dump(),
                base_value=num(getattr(s, "base_value", None)),
                contributions=_contributions(s, row),
            )
    return risk_history, LatestOut(as_of=latest_as_of, scores=cast(Any, latest_scores))


# -- POST /v1/imports ------------------------------------------------------------------------
def check_import_scope(
    store: Store,
    projects: pd.DataFrame | None,
    snapshots: pd.DataFrame | None,
    scope: frozenset[str] | None,
    *,
    projects_name: str = "projects",
    snapshots_name: str = "snapshots",
) -> None:
    """``Forbidden`` unless every project written or reported on is in the caller's scope.

    A scoped key may not create a project outside its portfolios, overwrite (or move) a stored
    project of another portfolio, or add reports to one.
    """
    if scope is None:
        return
    problems: list[str] = []
    in_file: set[str] = set()
    if projects is not None:
        ids = [str(i) for i in projects["project_id"]]
        in_file = set(ids)
        stored = store.projects(project_ids=ids)
        stored_portfolio = dict(zip(stored["project_id"], stored["portfolio"], strict=True))
        for row, (pid, portfolio) in enumerate(zip(ids, projects["portfolio"], strict=True), 2):
            if not in_scope(text(portfolio), scope):
                problems.append(f"{projects_name} row {row}: portfolio {text(portfolio)!r}")
            elif pid in stored_portfolio and not in_scope(text(stored_portfolio[pid]), scope):
                problems.append(f"{projects_name} row {row}: project {pid!r}")
    if snapshots is not None and len(snapshots):
        others = sorted({str(i) for i in snapshots["project_id"]} - in_file)
        if others:
            stored = store.projects(project_ids=others)
            visible = {
                str(p)
                for p, port in zip(stored["project_id"], stored["portfolio"], strict=True)
                if in_scope(text(port), scope)
            }
            problems += [f"{snapshots_name}: project {p!r}" for p in others if p not in visible]
    if problems:
        head = "; ".join(problems[:20]) + (
            f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        raise Forbidden(
            f"outside the portfolios of this key ({', '.join(sorted(scope))}): {head}; "
            "nothing was changed"
        )


def import_uploads(
    store: Store,
    uploads: Sequence[Upload],
    *,
    dry_run: bool,
    scope: frozenset[str] | None = None,
    max_bytes: int = 50 * 1024 * 1024,
) -> ImportOut:
    """Validate (and unless ``dry_run``, import) uploaded files, as ``pmo-risk import`` does.

    All or nothing: any problem in any file raises ``ValidationFailed`` and nothing is written;
    a file over ``max_bytes`` raises ``TooLarge``; rows outside ``scope`` raise ``Forbidden``.
    """
    if not uploads:
        raise ValidationFailed(
            [Problem("(none)", None, None, "send a 'projects' and/or a 'snapshots' file")]
        )
    with tempfile.TemporaryDirectory(prefix="pmo-risk-upload-") as tmp:
        paths = save_uploads(uploads, Path(tmp), max_bytes)
        projects_path, snapshots_path = paths.get("projects"), paths.get("snapshots")
        projects, snapshots = importer.validate_files(
            projects_path,
            snapshots_path,
            known_project_ids=frozenset(store.project_ids()),
        )
        check_import_scope(
            store,
            projects,
            snapshots,
            scope,
            projects_name=projects_path.name if projects_path else "projects",
            snapshots_name=snapshots_path.name if snapshots_path else "snapshots",
        )
        if dry_run:
            summary: dict[str, Any] = {
                "projects_read": 0 if projects is None else len(projects),
                "snapshots_read": 0 if snapshots is None else len(snapshots),
            }
        else:
            summary = asdict(store.import_frames(projects, snapshots))
    return ImportOut(
        dry_run=dry_run,
        files=[p.name for p in paths.values()],
        summary=summary,
        revision=int(store.revision()),
    )


def rescore_after_import(
    store: Store, models: ModelState, settings: Settings, out: ImportOut
) -> None:
    """Recompute the stored scores after an import that changed the store (models loaded).

    A failure is logged, never raised: the import itself has succeeded, and readers recompute
    scores that are older than the store's revision.
    """
    if out.dry_run or not models.ready:
        return
    state = ScoreStore(store).state()
    if state is not None and state.revision == out.revision:
        return
    try:
        refresh_stored_scores(store, models, settings)
    except Exception:
        log.exception("could not rescore the portfolio after import (revision %s)", out.revision)
