"""The FastAPI application factory (``uvicorn --factory api.app:create_app``).

Nothing happens at import: settings are read, the store opened and the champion models
loaded inside ``create_app`` / the lifespan, and kept on ``app.state``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI

from api.auth import install_auth, start_auth
from api.errors import install_error_handlers, responses
from api.middleware import install_middleware
from api.model_manager import ModelManager, Rescorer, bound_threads, load_state
from api.observability import Metrics, configure_logging
from api.routes import (
    docs,
    health,
    imports,
    keys,
    metrics,
    models,
    portfolio,
    projects,
    risks,
    score,
    session,
    whatif,
)
from api.schemas import ScoreIn
from api.services import ModelState, PortfolioCache, api_version, refresh_stored_scores
from api.timing import ServerTiming
from api.web import install_web
from api.web.assets import compile_templates
from model_registry.registry import ModelRegistry
from risk_model.config import Settings, get_settings
from risk_model.keys import KeyRing
from risk_model.score_store import ScoreStore
from risk_model.store import Store

log = logging.getLogger(__name__)

DESCRIPTION = """
Predictive project risk for PMOs: calibrated probabilities of **schedule** and **cost**
overrun of each project, from its status-report history, explained in words.

* `POST /v1/score` scores projects sent in the body (nothing stored).
* `GET /v1/portfolio/risks` ranks the stored active portfolio.
* `GET /v1/projects/{id}` shows one project's history, risk history and explanation.
* `POST /v1/imports` imports CSV / XLSX files (validated; all or nothing).
* `GET /v1/models` shows the champion models in use, their known limitations and drifting
  features; `GET /v1/models/{target}/card` the full model card.

Every endpoint but `/health` and `/ready` needs an API key (`pmo-risk keys create`) in
`Authorization: Bearer <key>` or `X-API-Key`: **viewer** keys read, **analyst** keys also score
and import, **admin** keys also manage keys. Missing or invalid key: 401; role too low: 403.
A key limited to portfolios sees only their projects (others are 404).

Bad input gives 422 with every problem (`file`, `row`, `column`, `message`, `value`); an
unknown project 404; a missing model 503; a body over the size limit 413.
"""

TAGS = [
    {"name": "health", "description": "Liveness and readiness."},
    {"name": "score", "description": "Stateless scoring."},
    {"name": "portfolio", "description": "The stored portfolio ranked by risk."},
    {"name": "projects", "description": "One project, explained."},
    {"name": "imports", "description": "Loading history files into the store."},
    {"name": "models", "description": "The models in use."},
    {"name": "keys", "description": "API keys (admin)."},
    {"name": "risks", "description": "Each project's risk register and mitigation actions."},
    {"name": "what-if", "description": "Re-scoring a project with changed inputs."},
]


def _start(settings: Settings) -> tuple[Store, ModelRegistry, ModelState]:
    """Open the store (creating tables) and load each target's champion model once."""
    settings.ensure_home()
    store = Store(settings.store_url)
    store.init()
    ScoreStore(store).init()
    registry = ModelRegistry.from_settings(settings)
    models = bound_threads(load_state(registry), settings.num_threads)
    compile_templates()  # the first page a PMO opens does not wait for Jinja's compiler
    return store, registry, models


def _frozen() -> None:
    """Move everything loaded so far out of the garbage collector's generations: the models
    and libraries are never freed, and full collections then skip them (shorter pauses)."""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store, registry, models = await to_thread.run_sync(_start, settings)
    cache = PortfolioCache()
    app.state.store = store
    start_auth(app, settings, KeyRing(store))
    app.state.models = models
    app.state.portfolio_cache = cache
    app.state.registry = registry  # model cards, read on request

    def rescore(state: ModelState) -> None:
        if state.ready:
            refresh_stored_scores(store, state, settings)

    rescorer = Rescorer(rescore, on_done=cache.invalidate)

    def swapped(_old: ModelState, new: ModelState) -> None:
        app.state.models = new
        rescorer.request(new)
        app.state.metrics.drift_read_at = None  # the next scrape reads the new models' cards

    def failed(errors: Mapping[str, str]) -> None:
        for target in errors:  # a poll's or a reload's: the old models keep serving
            app.state.metrics.reload_failed(target)

    manager = ModelManager(
        registry,
        models,
        poll_seconds=settings.model_poll_seconds,
        on_swap=swapped,
        prepare=lambda m: bound_threads(m, settings.num_threads),
        on_failure=failed,
    )
    app.state.model_manager = manager
    app.state.rescorer = rescorer
    if not models.ready:
        log.warning("service not ready: %s", dict(models.missing))
    else:
        state = ScoreStore(store).state()
        if state is not None and state.versions != models.versions():
            rescorer.request(models)  # scores of other model versions: redo them
    _frozen()
    manager.start()
    try:
        yield
    finally:
        manager.stop()
        rescorer.shutdown()
        dispose = getattr(store, "close", None) or getattr(store, "dispose", None)
        if callable(dispose):
            dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app; ``settings`` default to the process settings (``PMO_RISK_*``)."""
    app = FastAPI(
        title="pmo-risk",
        summary="Predictive schedule and cost overrun risk for project portfolios.",
        description=DESCRIPTION,
        version=api_version(),
        openapi_tags=TAGS,
        docs_url=None,  # served by api.routes.docs, behind sign-in
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    settings = app.state.settings = settings if settings is not None else get_settings()
    if settings.log_json:
        configure_logging()
    app.state.metrics = Metrics(app.state)
    install_error_handlers(app)
    install_auth(app, settings)
    app.add_middleware(ServerTiming)
    install_middleware(
        app,
        app.state.metrics,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        timeout=settings.request_timeout,
    )
    routers = (
        health,
        score,
        portfolio,
        projects,
        imports,
        models,
        keys,
        session,
        docs,
        metrics,
        risks,
        whatif,
    )
    for module in routers:
        public = module in (health, session)
        app.include_router(module.router, responses={} if public else responses(401, 403))
    _document_parsed_bodies(app)
    install_web(app)
    return app


def _document_parsed_bodies(app: FastAPI) -> None:
    """Add the request models of routes that parse their own body (``POST /v1/score`` reads
    the bytes with pydantic) to the OpenAPI components."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = default()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        extra = ScoreIn.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in extra.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault("ScoreIn", extra)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
