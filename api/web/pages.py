"""The page routes: portfolio (``/``), project (``/projects/{id}``), models, import.

Every route gets its data through FastAPI dependencies (``api.deps``), so an auth dependency
can be added to the router or a route with one line. A key scoped to some portfolios sees only
their projects on every page (ranking, filters, tiles, scatter, alerts, reports); another
portfolio's project page is 404, as in the JSON API. Pages never write: edits (risk register,
what-if, imports) go through the JSON API from the page's JavaScript.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, cast

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.auth import PageAnalyst, PageViewer, csrf_token
from api.deps import (
    ModelsDep,
    RegisterDep,
    RegistryDep,
    SettingsDep,
    StoreDep,
)
from api.routes.risks import risks_out
from api.scenarios import lever_table, project_frames
from api.services import in_scope, models_out, project_detail
from api.web.assets import plotly_js, templates
from api.web.models_view import model_page
from api.web.views import SORTS, BoardCache, Filters, portfolio_page
from features.schedule_quality import latest_schedule_findings
from model_registry.registry import ModelRegistry
from risk_model.board import Board, compute_board
from risk_model.config import TARGETS
from risk_model.exceptions import ModelNotAvailable, PmoRiskError, UnknownProject
from risk_model.keys import ApiKey
from risk_model.report import MEDIA_TYPES, build_report, render

router = APIRouter(include_in_schema=False)


def get_board_cache(request: Request) -> BoardCache:
    return cast(BoardCache, request.app.state.board_cache)


BoardDep = Annotated[BoardCache, Depends(get_board_cache)]
Blank = Annotated[str | None, Query(max_length=500)]


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("csrf_token", csrf_token(request))
    return templates().TemplateResponse(request, name, context, status_code=status)


def _problem(request: Request, exc: PmoRiskError) -> HTMLResponse:
    """A page explaining why the data cannot be shown (no model yet, unknown project)."""
    if isinstance(exc, UnknownProject):
        status, title = 404, "Project not found"
    elif isinstance(exc, ModelNotAvailable):
        status, title = 503, "No model yet"
    else:
        status, title = 400, "Cannot show this page"
    return _render(request, "problem.html", status, title=title, message=str(exc))


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def visible(board: Board, key: ApiKey) -> Board:
    """The board as ``key`` may see it: only its portfolios' projects when it is scoped (the
    same predicate as the JSON API's ``portfolio_risks``)."""
    scope = key.scope
    if scope is None:
        return board
    return board.filtered(lambda r: in_scope(r.portfolio, scope))


def _targets(models: ModelsDep) -> list[str]:
    return [t for t in TARGETS if t in models.loaded] or list(TARGETS)


@router.get("/", response_class=HTMLResponse)
def portfolio(
    key: PageViewer,
    request: Request,
    store: StoreDep,
    models: ModelsDep,
    settings: SettingsDep,
    board: BoardDep,
    target: Blank = None,
    portfolio: Blank = None,
    category: Blank = None,
    band: Blank = None,
    phase: Blank = None,
    sort: Blank = None,
    order: Blank = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The ranked portfolio: tiles, alerts, scatter and the sortable, filterable table."""
    targets = _targets(models)
    chosen = target if target in targets else targets[0]
    band = _clean(band)
    filters = Filters(
        target=chosen,
        portfolio=_clean(portfolio),
        category=_clean(category),
        band=band if band in settings.band_names else None,
        phase=_clean(phase),
        sort=sort if sort in SORTS else "probability",
        descending=order != "asc",
        page=page,
    )
    try:
        data = portfolio_page(visible(board.get(store, models, settings), key), filters)
    except PmoRiskError as exc:
        return _problem(request, exc)
    return _render(request, "portfolio.html", page=data, targets=targets, sorts=SORTS)


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project(
    key: PageViewer,
    request: Request,
    project_id: Annotated[str, Path(min_length=1, max_length=200)],
    store: StoreDep,
    models: ModelsDep,
    settings: SettingsDep,
    register: RegisterDep,
) -> HTMLResponse:
    """One project: history charts, waterfall, drivers, risk register, what-if."""
    try:
        detail = project_detail(store, models, settings, project_id, scope=key.scope)
        risks = risks_out(project_id, register.risks(project_id), register.today)
        frames = project_frames(store, project_id)
        levers = lever_table(frames)
    except PmoRiskError as exc:
        return _problem(request, exc)
    data = {
        "detail": detail.model_dump(mode="json"),
        "targets": _targets(models),
        "band_cuts": list(settings.band_cuts),
        "band_names": list(settings.band_names),
    }
    return _render(
        request,
        "project.html",
        detail=detail,
        risks=risks,
        levers=levers,
        schedule=latest_schedule_findings(frames.snapshots, project_id),
        data=data,
        targets=_targets(models),
    )


@router.get("/models", response_class=HTMLResponse)
def models_page(
    _key: PageViewer, request: Request, models: ModelsDep, settings: SettingsDep
) -> HTMLResponse:
    """Champion vs challenger metrics beside the baselines, plots, model card, backtest."""
    return _render(
        request, "models.html", view=model_page(settings, models), loaded=models_out(models)
    )


@router.get("/import", response_class=HTMLResponse)
def import_page(_key: PageAnalyst, request: Request) -> HTMLResponse:
    """Upload projects / snapshots files, see the validation report, confirm."""
    return _render(request, "import.html")


@router.get("/vendor/plotly.min.js")
def plotly_bundle(_key: PageViewer) -> Response:
    """plotly.js from the installed ``plotly`` package (served locally, cached a day)."""
    return FileResponse(
        plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
    )


@router.get("/models/runs/{run_id}/artifacts/{path:path}")
def run_artifact(
    _key: PageViewer,
    run_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    path: Annotated[str, Path(pattern=r"^plots/[A-Za-z0-9_.-]+\.png$")],
    settings: SettingsDep,
) -> Response:
    """A plot logged with a training run (reliability diagram, SHAP summary, AUC by stage)."""
    body = ModelRegistry.from_settings(settings).run_artifact_bytes(run_id, path)
    if body is None:
        return Response(status_code=404)
    return Response(body, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


@router.get("/reports/portfolio")
def portfolio_report(
    key: PageViewer,
    request: Request,
    store: StoreDep,
    models: ModelsDep,
    settings: SettingsDep,
    board: BoardDep,
    registry: RegistryDep,
    format: Annotated[str, Query(pattern="^(html|pdf|xlsx)$")] = "html",
    as_of: Annotated[date | None, Query(description="Report date (default: latest)")] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    """The decision makers' report (HTML, PDF or Excel), as ``pmo-risk report`` writes it."""
    try:
        loaded = models.require()
        if as_of is None:
            current = board.get(store, models, settings)
        else:
            current = compute_board(store, loaded, settings, as_of=pd.Timestamp(as_of))
        current = visible(current, key)
        backtests = registry.latest_backtests(loaded)
        data = build_report(
            store, loaded, settings, as_of=as_of, top=top, board=current, backtests=backtests
        )
        body = render(data, format)
    except PmoRiskError as exc:
        return _problem(request, exc)
    name = f"pmo-risk-report-{data.as_of or 'latest'}.{format}"
    headers = {} if format == "html" else {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=MEDIA_TYPES[format], headers=headers)
