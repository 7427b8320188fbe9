"""The FastAPI application factory (``uvicorn --factory api.app:create_app``).

Nothing happens at import: settings are read, the store opened and the champion models
loaded inside ``create_app`` / the lifespan, and kept on ``app.state``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import health, imports, models, portfolio, projects, score
from api.services import ModelState, PortfolioCache, api_version, load_champions
from model_registry.registry import ModelRegistry
from risk_model.config import Settings, get_settings
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

Bad input gives 422 with every problem (`file`, `row`, `column`, `message`, `value`); an
unknown project 404; a missing model 503.
"""

TAGS = [
    {"name": "health", "description": "Liveness and readiness."},
    {"name": "score", "description": "Stateless scoring."},
    {"name": "portfolio", "description": "The stored portfolio ranked by risk."},
    {"name": "projects", "description": "One project, explained."},
    {"name": "imports", "description": "Loading history files into the store."},
    {"name": "models", "description": "The models in use."},
]


def _start(settings: Settings) -> tuple[Store, ModelState]:
    """Open the store (creating tables) and load each target's champion model once."""
    settings.ensure_home()
    store = Store(settings.store_url)
    store.init()
    models = load_champions(ModelRegistry.from_settings(settings))
    return store, models


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store, models = await to_thread.run_sync(_start, settings)
    app.state.store = store
    app.state.models = models
    app.state.portfolio_cache = PortfolioCache()
    app.state.registry = ModelRegistry.from_settings(settings)  # model cards, read on request
    if not models.ready:
        log.warning("service not ready: %s", dict(models.missing))
    try:
        yield
    finally:
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
        docs_url="/docs",
        redoc_url="/redoc",
        lifespan=lifespan,
    )
    app.state.settings = settings if settings is not None else get_settings()
    install_error_handlers(app)
    for module in (health, score, portfolio, projects, imports, models):
        app.include_router(module.router)
    return app
