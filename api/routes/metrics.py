"""``/metrics``: Prometheus text format (a viewer key: scrape with a bearer token)."""

from __future__ import annotations

import time
from typing import cast

from fastapi import APIRouter, Request, Response

from api.auth import ViewerKey
from api.deps import ModelsDep, SettingsDep
from api.observability import CONTENT_TYPE_LATEST, Metrics
from api.services import record_drift

router = APIRouter(include_in_schema=False)


def get_metrics(request: Request) -> Metrics:
    return cast(Metrics, request.app.state.metrics)


@router.get("/metrics")
def metrics(request: Request, _: ViewerKey, models: ModelsDep, settings: SettingsDep) -> Response:
    recorder = get_metrics(request)
    read = recorder.drift_read_at
    if read is None or time.monotonic() - read >= settings.metrics_drift_seconds:
        record_drift(recorder, models, getattr(request.app.state, "registry", None))
    return Response(recorder.render(), media_type=CONTENT_TYPE_LATEST)
