"""Score a stored portfolio at its latest report (or as of a date) with loaded models.

Shared by the CLI and the API so both rank projects the same way. Reads the store, computes
point-in-time features from reports up to the date, scores each project's latest row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from features.pipeline import build_features, insufficient_reason
from features.registry import describe_driver
from risk_model.config import Settings
from risk_model.risk_register import RiskRegister
from risk_model.score_store import ScoreState, ScoreStore
from risk_model.scoring import ProjectScore, latest_rows, score_rows, scores_to_frame
from risk_model.store import Store


def portfolio_features(
    store: Store,
    *,
    as_of: pd.Timestamp | None = None,
    active_only: bool = True,
    project_ids: list[str] | None = None,
    portfolio: str | None = None,
    category: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(projects, feature rows) of the stored portfolio using only reports up to ``as_of``.

    With ``active_only`` a project counts when it had not finished by the date (status active,
    or its actual finish after ``as_of``); cancelled projects are left out. The risk
    register's entries feed the ``register_*`` features (point in time).
    """
    projects = store.projects(portfolio=portfolio, category=category, project_ids=project_ids)
    if active_only and len(projects):
        status = projects["status"].fillna("active")
        if as_of is None:
            keep = status == "active"
        else:
            finish = projects["actual_finish"]
            started = projects["start_date"].isna() | (projects["start_date"] <= as_of)
            keep = (status != "cancelled") & (finish.isna() | (finish > as_of)) & started
        projects = projects.loc[keep.to_numpy()].reset_index(drop=True)
    ids = list(projects["project_id"])
    snapshots = store.snapshots(project_ids=ids, until=as_of)
    register = RiskRegister(store).frames(ids)
    return projects, build_features(projects, snapshots, register=register)


def score_features(
    features: pd.DataFrame,
    models: Mapping[str, Any],
    settings: Settings,
    *,
    explain: bool = True,
    full: bool = False,
    latest_only: bool = True,
    with_ranges: bool = False,
) -> list[ProjectScore]:
    """Scores of feature rows (by default each project's latest) with ``LoadedModel`` values.

    ``with_ranges`` adds each outcome target's overrun range (P10/P50/P90) where the model
    version has a range model.
    """
    rows = latest_rows(features) if latest_only else features
    reasons = {t: insufficient_reason(rows, t) for t in models}
    return score_rows(
        {t: m.model for t, m in models.items()},
        rows,
        describe=describe_driver,
        settings=settings,
        reasons=reasons,
        explain=explain,
        full=full,
        versions={t: m.version for t, m in models.items()},
        ranges=(
            {t: r for t, m in models.items() if (r := getattr(m, "ranges", None)) is not None}
            if with_ranges
            else None
        ),
    )


#: Project columns that name the project rather than a group of projects.
_NOT_COHORTS = ("project_id", "name")


def cohort_labels(
    features: pd.DataFrame,
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    scores: list[ProjectScore] | None = None,
) -> pd.DataFrame:
    """Labels to group feature rows by (``features``' index and order).

    Every text attribute of the project (``category``, ``portfolio``, ``region``, ...), the
    report's ``phase`` (None for a row without a report) and, given the rows' scores in row
    order (``score_features(features, ..., latest_only=False)``), ``band_<target>`` per target.
    """
    keys = features[["project_id", "as_of"]].reset_index(drop=True)
    text = [
        c
        for c in projects.columns
        if c not in _NOT_COHORTS
        and not pd.api.types.is_numeric_dtype(projects[c])
        and not pd.api.types.is_datetime64_any_dtype(projects[c])
    ]
    labels = keys.merge(
        projects[["project_id", *text]].drop_duplicates("project_id"), on="project_id", how="left"
    )
    if "phase" in snapshots.columns:
        reports = snapshots[["project_id", "as_of", "phase"]].drop_duplicates(
            ["project_id", "as_of"], keep="last"
        )
        labels = labels.merge(reports, on=["project_id", "as_of"], how="left")
    if scores is not None:
        if len(scores) != len(features):
            raise ValueError(f"{len(scores)} scores for {len(features)} feature rows")
        frame = scores_to_frame(scores)
        bands = [c for c in frame.columns if c.startswith("band_")]
        labels = pd.concat([labels, frame[bands]], axis=1)
    labels = labels.drop(columns=["project_id", "as_of"]).astype(object)
    labels = labels.where(labels.notna(), None)
    labels.index = features.index
    return labels


def score_portfolio(
    store: Store,
    models: Mapping[str, Any],
    settings: Settings,
    *,
    as_of: pd.Timestamp | None = None,
    explain: bool = True,
    portfolio: str | None = None,
    category: str | None = None,
) -> list[ProjectScore]:
    """Every active project of the store scored at its latest report up to ``as_of``."""
    _, features = portfolio_features(store, as_of=as_of, portfolio=portfolio, category=category)
    if features.empty:
        return []
    return score_features(features, models, settings, explain=explain)


def refresh_scores(
    store: Store,
    scores: ScoreStore,
    models: Mapping[str, Any],
    settings: Settings,
    *,
    incremental: bool = True,
) -> ScoreState:
    """Bring the stored scores up to the store's data (issue 6): every report scored, each
    project's latest report with drivers and every contribution; ``models`` maps target ->
    ``LoadedModel``.

    When the stored scores were made by the same model versions and the store knows which
    projects changed since (``Store.changed_since``: imports and risk-register edits record
    them), only those projects are rescored and rewritten; otherwise (or with
    ``incremental=False``) every project is. A project's features depend on its own records
    only, so both give the same scores. The revision is read before the data, so a write
    landing meanwhile leaves the stored scores visibly older than the store.
    """
    revision = int(store.revision())
    versions = {t: str(m.version) for t, m in models.items()}
    current = scores.state() if incremental else None
    if current is not None and current.versions == versions and current.revision <= revision:
        if current.revision == revision:
            return current  # already up to date: nothing to rewrite
        changed = store.changed_since(current.revision, revision)
        if changed is not None:
            return _rescore(store, scores, models, settings, sorted(changed), revision, versions)
    projects = store.projects()
    snapshots = store.snapshots(project_ids=None)
    if projects.empty:
        return scores.replace([], [], revision=revision, versions=versions)
    features = build_features(projects, snapshots, register=RiskRegister(store).frames())
    history = score_features(features, models, settings, explain=False, latest_only=False)
    latest = score_features(features, models, settings, explain=True, full=True)
    return scores.replace(history, latest, revision=revision, versions=versions)


def _rescore(
    store: Store,
    scores: ScoreStore,
    models: Mapping[str, Any],
    settings: Settings,
    ids: list[str],
    revision: int,
    versions: dict[str, str],
) -> ScoreState:
    """Rescore ``ids`` only and store their rows under ``revision``."""
    history: list[ProjectScore] = []
    latest: list[ProjectScore] = []
    if ids:
        projects = store.projects(project_ids=ids)
        snapshots = store.snapshots(project_ids=ids)
        if not projects.empty:
            register = RiskRegister(store).frames(ids)
            features = build_features(projects, snapshots, register=register)
            history = score_features(features, models, settings, explain=False, latest_only=False)
            latest = score_features(features, models, settings, explain=True, full=True)
    return scores.replace_projects(ids, history, latest, revision=revision, versions=versions)
