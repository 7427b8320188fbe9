"""Prometheus metrics (one registry per app) and JSON log lines with the request id.

``Metrics`` is put on ``app.state.metrics`` by ``create_app``; other modules record through
its methods, never through module globals:

* ``observe_request(method, route, status, seconds)``: by the request middleware, with the
  route *template* (``/v1/projects/{project_id}``), so labels stay few.
* ``observe_scores(target, probabilities)``: probabilities served, per target.
* ``reload_failed(target)``: a champion reload that failed validation or could not reach the
  registry (the service kept the old model).
* ``set_drift(target, flags)``: the drift monitor's flags per feature (1 flagged, 0 not) and
  how many are flagged, per target (``api.services.record_drift`` reads them from the loaded
  models' cards on the first scrape, after a swap, and when older than
  ``Settings.metrics_drift_seconds``).

The loaded model of each target (``pmo_risk_model_info``) and readiness are read from
``app.state.models`` at scrape time, so a model swap shows without any call.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

__all__ = [
    "ACCESS_LOGGER",
    "CONTENT_TYPE_LATEST",
    "JsonFormatter",
    "Metrics",
    "configure_logging",
    "request_id_var",
]

ACCESS_LOGGER = "pmo_risk.access"
#: The current request's id, for every log line written while serving it.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pmo_risk_request_id", default=None
)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_PROBABILITY_BUCKETS = tuple(round(0.05 * i, 2) for i in range(1, 21))


class _ModelCollector(Collector):
    """``pmo_risk_model_info`` and ``pmo_risk_ready`` from the app's current models."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "pmo_risk_model_info",
            "The champion model serving each target (value 1)",
            labels=["target", "name", "version"],
        )
        ready = GaugeMetricFamily("pmo_risk_ready", "1 when every target has a model")
        models = getattr(self._state, "models", None)
        loaded: Mapping[str, Any] = getattr(models, "loaded", None) or {}
        for target, model in sorted(loaded.items()):
            info.add_metric(
                [str(target), str(getattr(model, "name", "")), str(getattr(model, "version", ""))],
                1.0,
            )
        ready.add_metric([], 1.0 if bool(getattr(models, "ready", False)) else 0.0)
        yield info
        yield ready


class Metrics:
    """The app's Prometheus registry and the recorders other modules call."""

    def __init__(self, state: Any = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "pmo_risk_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "pmo_risk_http_request_duration_seconds",
            "Time to answer, by route template",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.scores = Histogram(
            "pmo_risk_score_probability",
            "Probabilities of overrun served, per target",
            ["target"],
            buckets=_PROBABILITY_BUCKETS,
            registry=r,
        )
        self.reload_failures = Counter(
            "pmo_risk_model_reload_failures",
            "Champion reloads that failed (the old model kept serving)",
            ["target"],
            registry=r,
        )
        self.drift = Gauge(
            "pmo_risk_drift_flag",
            "1 when the drift monitor flags a feature of a target, else 0",
            ["target", "feature"],
            registry=r,
        )
        self.drift_flagged = Gauge(
            "pmo_risk_drift_flagged_features",
            "How many features the drift monitor flags for the loaded model of a target",
            ["target"],
            registry=r,
        )
        self._drift_labels: dict[str, set[str]] = {}
        self.drift_read_at: float | None = None
        """``time.monotonic()`` of the last drift read (``api.services.record_drift``)."""
        if state is not None:
            r.register(_ModelCollector(state))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_scores(self, target: str, probabilities: Iterable[float | None]) -> None:
        hist = self.scores.labels(target)
        for p in probabilities:
            if p is not None:
                hist.observe(p)

    def reload_failed(self, target: str) -> None:
        self.reload_failures.labels(target).inc()

    def set_drift(self, target: str, flags: Mapping[str, bool]) -> None:
        """Replace a target's drift flags (features no longer listed are removed)."""
        for feature in self._drift_labels.get(target, set()) - set(flags):
            self.drift.remove(target, feature)
        for feature, flagged in flags.items():
            self.drift.labels(target, feature).set(1.0 if flagged else 0.0)
        self._drift_labels[target] = set(flags)
        self.drift_flagged.labels(target).set(float(sum(bool(f) for f in flags.values())))

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


# -- logs --------------------------------------------------------------------------------------
_EXTRA = (
    "request_id",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "key_id",
    "client",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and request fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            out["request_id"] = rid
        for name in _EXTRA[1:]:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


_MARK = "_pmo_risk_json"


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for our loggers (``api``, ``pmo_risk``); idempotent."""
    for name in ("api", "pmo_risk"):
        logger = logging.getLogger(name)
        if any(getattr(h, _MARK, False) for h in logger.handlers):
            continue
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
