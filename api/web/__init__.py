"""The PMO's web app: server-rendered pages on the same FastAPI process (issue 5).

``install_web(app)`` adds the page routes, the static assets and the locally served chart
library (plotly.js from the ``plotly`` package: nothing is fetched from a CDN).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import pages
from api.web.assets import STATIC_DIR
from api.web.views import BoardCache


def install_web(app: FastAPI) -> None:
    """Pages, static files and an empty board cache on ``app``."""
    app.state.board_cache = BoardCache()
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
