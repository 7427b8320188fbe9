"""``/metrics``: Prometheus text format (a viewer key: scrape with a bearer token)."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request, Response

from api.auth import ViewerKey
from api.observability import CONTENT_TYPE_LATEST, Metrics

router = APIRouter(include_in_schema=False)


def get_metrics(request: Request) -> Metrics:
    return cast(Metrics, request.app.state.metrics)


@router.get("/metrics")
def metrics(request: Request, _: ViewerKey) -> Response:
    return Response(get_metrics(request).render(), media_type=CONTENT_TYPE_LATEST)
