"""Metrics (Prometheus text format at /metrics) and structured logs with a request id.

Metrics are per process: with ``--workers`` above 1, scrape each worker (or run
one worker per instance, as containers usually do).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Sized
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

registry = CollectorRegistry()
REQUESTS = Counter(
    "micro_user_requests",
    "Requests answered, by endpoint and status.",
    ["endpoint", "status"],
    registry=registry,
)
LATENCY = Histogram(
    "micro_user_request_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=registry,
)
LOGINS = Counter("micro_user_logins", "Login attempts, by result.", ["result"], registry=registry)
ABUSE_STORE_DOWN = Counter(
    "micro_user_abuse_store_unavailable",
    "Checks made while the abuse counters' store (Redis) did not answer, by use and by what "
    "was done: refused (fail closed, 503) or let through unchecked (fail open).",
    ["use", "outcome"],
    registry=registry,
)
HASH_SECONDS = Histogram(
    "micro_user_password_hash_seconds",
    "Time to hash or verify one password.",
    ["operation"],
    buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
    registry=registry,
)
OUTBOX_BACKLOG = Gauge(
    "micro_user_outbox_backlog", "Webhook deliveries waiting.", registry=registry
)
CACHE_ENTRIES = Gauge(
    "micro_user_cache_entries",
    "Entries held by a bounded in-process cache, by cache.",
    ["cache"],
    registry=registry,
)
DELIVERY_FAILURES = Counter(
    "micro_user_delivery_failures",
    "Webhook deliveries that failed, by outcome.",
    ["outcome"],
    registry=registry,
)

MAIL_BACKLOG = Gauge(
    "micro_user_mail_queue", "Mails waiting in the queue to be sent.", registry=registry
)
MAILS = Counter(
    "micro_user_mails",
    "Queued mails by outcome: sent, retry (the mail server failed), expired (dropped unsent "
    "when its token expired).",
    ["outcome"],
    registry=registry,
)


def watch_cache(name: str, cache: Sized) -> None:
    """Report the size of ``cache`` in ``micro_user_cache_entries``."""
    CACHE_ENTRIES.labels(name).set_function(lambda: len(cache))


def metrics_text() -> bytes:
    return generate_latest(registry)


# Logs ---------------------------------------------------------------------------

request_id: ContextVar[str] = ContextVar("micro_user_request_id", default="")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def new_request_id(offered: str | None) -> str:
    """The caller's X-Request-Id when it is a sane token, else a new one."""
    if offered and _REQUEST_ID.match(offered):
        return offered
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = request_id.get()
        return f"{line} [request {rid}]" if rid else line


def configure_logging(level: str, style: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if style == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own loggers write through the same handler and format.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
