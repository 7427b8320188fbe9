"""The OpenAPI document and the interactive docs, for signed-in callers only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from api.auth import PageViewer, ViewerKey

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
def openapi(request: Request, _: ViewerKey) -> dict[str, Any]:
    return dict(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse)
def swagger(_: PageViewer) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="pmo-risk - docs")


@router.get("/redoc", response_class=HTMLResponse)
def redoc(_: PageViewer) -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title="pmo-risk - docs")
