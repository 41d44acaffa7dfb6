#!/usr/bin/env python3
"""A small "checkout" service instrumented with the OpenTelemetry Python SDK.

It sends one realistic trace to an OTLP endpoint (spangate, or any OTLP receiver):

    GET /checkout            SERVER, linked to the "orders enqueue" trace
    ├── SELECT orders        CLIENT, typed attributes and a "query.start" event
    └── charge card          CLIENT, records an exception, status ERROR

plus a separate one-span trace, "orders enqueue" (PRODUCER), that the server span links
to. It flushes, then prints one JSON line describing what it sent (trace ids, span ids,
names, kinds, attributes, events, links, status) so that a test can read the traces back
and compare. It exits 0 only if every span was exported successfully.

Usage:
    python app.py --protocol grpc           --endpoint http://127.0.0.1:4317
    python app.py --protocol http/protobuf  --endpoint http://127.0.0.1:4318

The endpoint is a base URL. Without --endpoint the standard OTEL_EXPORTER_OTLP_ENDPOINT
is used, and without that http://127.0.0.1:4317 (grpc) or http://127.0.0.1:4318 (http).
For http/protobuf, /v1/traces is appended to the base URL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

DEFAULT_ENDPOINTS = {
    "grpc": "http://127.0.0.1:4317",
    "http/protobuf": "http://127.0.0.1:4318",
}
SCOPE_NAME = "spangate.example.checkout"
SCOPE_VERSION = "1.0.0"


class CountingExporter(SpanExporter):
    """Wraps a real exporter and counts what it exported and what failed."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.exported = 0
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self._inner.export(spans)
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.exported += len(spans)
            else:
                self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def make_exporter(protocol: str, endpoint: str) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")


def hex_trace_id(ctx) -> str:
    return format(ctx.trace_id, "032x")


def hex_span_id(ctx) -> str:
    return format(ctx.span_id, "016x")


def describe(span, name, kind, parent, attributes, events=(), links=(), status=None):
    """The JSON description of one span, in the OTLP/Tempo vocabulary."""
    code, message = status if status else ("STATUS_CODE_UNSET", "")
    return {
        "name": name,
        "span_id": hex_span_id(span.get_span_context()),
        "parent_span_id": hex_span_id(parent.get_span_context()) if parent else None,
        "kind": kind,
        "attributes": attributes,
        "events": list(events),
        "links": list(links),
        "status": {"code": code, "message": message},
    }


def run(protocol: str, endpoint: str, service_name: str) -> dict:
    resource_attributes = {
        "service.name": service_name,
        "service.version": "1.4.2",
        "deployment.environment.name": "example",
    }
    exporter = CountingExporter(make_exporter(protocol, endpoint))
    provider = TracerProvider(resource=Resource.create(resource_attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)

    # A separate trace that the checkout request follows from (say, a queued order).
    enqueue_attrs = {"messaging.system": "kafka", "messaging.destination.name": "orders"}
    with tracer.start_as_current_span(
        "orders enqueue", kind=SpanKind.PRODUCER, attributes=enqueue_attrs
    ) as enqueue:
        pass
    enqueue_ctx = enqueue.get_span_context()

    server_attrs = {
        "http.request.method": "GET",
        "url.path": "/checkout",
        "http.response.status_code": 502,
        "user.premium": True,
    }
    link_attrs = {"link.kind": "follows_from"}
    db_attrs = {
        "db.system.name": "postgresql",
        "db.query.text": "SELECT * FROM orders WHERE user_id = $1",
        "db.response.returned_rows": 3,
        "db.cache.hit_ratio": 0.75,
        "db.cached": False,
        "db.tables": ["orders", "order_items"],
    }
    db_event_attrs = {"attempt": 1, "pool.wait_ms": 0.5}
    pay_attrs = {"payment.provider": "acme", "payment.amount": 42.5, "payment.currency": "EUR"}

    with tracer.start_as_current_span(
        "GET /checkout",
        kind=SpanKind.SERVER,
        attributes=server_attrs,
        links=[Link(enqueue_ctx, attributes=link_attrs)],
    ) as server:
        with tracer.start_as_current_span(
            "SELECT orders", kind=SpanKind.CLIENT, attributes=db_attrs
        ) as db:
            db.add_event("query.start", attributes=db_event_attrs)
        with tracer.start_as_current_span(
            "charge card",
            kind=SpanKind.CLIENT,
            attributes=pay_attrs,
            record_exception=False,
            set_status_on_exception=False,
        ) as pay:
            try:
                raise ValueError("card declined")
            except ValueError as exc:
                pay.record_exception(exc)
                pay.set_status(Status(StatusCode.ERROR, "card declined"))

    flushed = provider.force_flush(timeout_millis=20_000)
    provider.shutdown()
    if not flushed or exporter.failed or exporter.exported != 4:
        raise SystemExit(
            f"export to {endpoint} ({protocol}) failed: flushed={flushed} "
            f"exported={exporter.exported} failed={exporter.failed}"
        )

    checkout_trace = {
        "trace_id": hex_trace_id(server.get_span_context()),
        "spans": [
            describe(
                server,
                "GET /checkout",
                "SPAN_KIND_SERVER",
                None,
                server_attrs,
                links=[
                    {
                        "trace_id": hex_trace_id(enqueue_ctx),
                        "span_id": hex_span_id(enqueue_ctx),
                        "attributes": link_attrs,
                    }
                ],
            ),
            describe(
                db,
                "SELECT orders",
                "SPAN_KIND_CLIENT",
                server,
                db_attrs,
                events=[{"name": "query.start", "attributes": db_event_attrs, "exact": True}],
            ),
            describe(
                pay,
                "charge card",
                "SPAN_KIND_CLIENT",
                server,
                pay_attrs,
                # The SDK adds exception.stacktrace (and more); only these are fixed.
                events=[
                    {
                        "name": "exception",
                        "attributes": {
                            "exception.type": "ValueError",
                            "exception.message": "card declined",
                        },
                        "exact": False,
                    }
                ],
                status=("STATUS_CODE_ERROR", "card declined"),
            ),
        ],
    }
    enqueue_trace = {
        "trace_id": hex_trace_id(enqueue_ctx),
        "spans": [describe(enqueue, "orders enqueue", "SPAN_KIND_PRODUCER", None, enqueue_attrs)],
    }
    return {
        "protocol": protocol,
        "endpoint": endpoint,
        "service_name": service_name,
        "resource_attributes": resource_attributes,
        "scope": {"name": SCOPE_NAME, "version": SCOPE_VERSION},
        "exported_spans": exporter.exported,
        "traces": [checkout_trace, enqueue_trace],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--protocol",
        choices=sorted(DEFAULT_ENDPOINTS),
        default=os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        help="OTLP transport (default: $OTEL_EXPORTER_OTLP_PROTOCOL or grpc)",
    )
    parser.add_argument(
        "--endpoint",
        help="OTLP base URL (default: $OTEL_EXPORTER_OTLP_ENDPOINT, else the local default port)",
    )
    parser.add_argument("--service-name", default="spangate-example-checkout")
    args = parser.parse_args(argv)
    if args.protocol not in DEFAULT_ENDPOINTS:
        parser.error(f"unsupported protocol {args.protocol!r}")
    endpoint = (
        args.endpoint
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or DEFAULT_ENDPOINTS[args.protocol]
    )
    summary = run(args.protocol, endpoint, args.service_name)
    print(json.dumps(summary, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
