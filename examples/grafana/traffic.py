#!/usr/bin/env python3
"""Traffic for the Grafana example stack.

Runs the checkout trace of examples/python-app/app.py again and again, alternating a few
service names, plus a request that crosses services (storefront -> checkout -> its
database, every other one failing in checkout) so the service graph has edges. After
each checkout trace it writes log lines that carry its trace id
("... trace_id=<32 hex>") with the OpenTelemetry logs SDK to an OTLP/HTTP logs endpoint
(Loki's in compose.yaml). Each log record also carries the trace and span id in its OTLP
fields, and its resource the same service.name as the trace, so Grafana links both ways:
trace -> logs (the Tempo datasource's tracesToLogsV2) and log line -> trace (the Loki
datasource's derived field).

Environment (the standard OpenTelemetry variables):
    OTEL_EXPORTER_OTLP_ENDPOINT       traces, base URL (app.py reads it)
    OTEL_EXPORTER_OTLP_PROTOCOL       grpc (default) or http/protobuf
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT  logs, full URL, e.g. http://loki:3100/otlp/v1/logs;
                                      unset: no logs are sent

Prints one JSON line per round: {"service", "trace_id", "root_span_id"} of the checkout
trace and "call_trace_id" of the cross-service request.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

# app.py sits in ../python-app, both in the repository and in the compose container.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python-app"))

import app  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler  # noqa: E402
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.trace import (  # noqa: E402
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

SERVICES = ("checkout", "storefront")


class ServiceLogs:
    """A logger whose records go over OTLP with resource service.name = `service`."""

    def __init__(self, service: str, endpoint: str | None) -> None:
        self.provider = None
        self.logger = logging.getLogger(f"traffic.{service}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        if endpoint:
            self.provider = LoggerProvider(resource=Resource.create({"service.name": service}))
            self.provider.add_log_record_processor(
                SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint))
            )
            self.logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=self.provider))

    def trace_logs(self, trace_id: str, span: dict) -> None:
        """Log lines about one checkout, inside the context of its span."""
        context = SpanContext(
            trace_id=int(trace_id, 16),
            span_id=int(span["span_id"], 16),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        with trace.use_span(NonRecordingSpan(context)):
            self.logger.info("checkout started trace_id=%s", trace_id)
            self.logger.error("checkout failed: card declined trace_id=%s", trace_id)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def cross_service_call(protocol: str, endpoint: str, fail: bool) -> str:
    """storefront GET / -> POST /checkout (CLIENT) -> checkout POST /checkout (SERVER) ->
    SELECT orders (CLIENT to PostgreSQL). Returns the trace id."""
    exporters = {}
    tracers = {}
    for name in SERVICES:
        exporters[name] = app.CountingExporter(app.make_exporter(protocol, endpoint))
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(SimpleSpanProcessor(exporters[name]))
        tracers[name] = (provider, provider.get_tracer(app.SCOPE_NAME, app.SCOPE_VERSION))
    storefront, checkout = tracers["storefront"][1], tracers["checkout"][1]
    method = {"http.request.method": "POST"}
    with storefront.start_as_current_span("GET /", kind=SpanKind.SERVER) as root:
        with storefront.start_as_current_span(
            "POST /checkout", kind=SpanKind.CLIENT, attributes={**method, "server.address": "checkout"}
        ):
            with checkout.start_as_current_span("POST /checkout", kind=SpanKind.SERVER, attributes=method) as server:
                with checkout.start_as_current_span(
                    "SELECT orders",
                    kind=SpanKind.CLIENT,
                    attributes={"db.system": "postgresql", "db.name": "orders"},
                ):
                    time.sleep(0.005)
                if fail:
                    server.set_status(Status(StatusCode.ERROR, "payment declined"))
    for provider, _ in tracers.values():
        provider.shutdown()
    if sum(e.exported for e in exporters.values()) != 4 or any(e.failed for e in exporters.values()):
        raise SystemExit(f"export of the cross-service request to {endpoint} failed")
    return format(root.get_span_context().trace_id, "032x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=0, help="traces to send (0: forever)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between traces")
    args = parser.parse_args()
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or app.DEFAULT_ENDPOINTS[protocol]
    logs = {name: ServiceLogs(name, os.environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")) for name in SERVICES}
    failures = 0
    sent = 0
    while args.iterations == 0 or sent + failures < args.iterations:
        service = SERVICES[(sent + failures) % len(SERVICES)]
        try:
            summary = app.run(protocol, endpoint, service)
            call_trace_id = cross_service_call(protocol, endpoint, fail=(sent + failures) % 2 == 1)
        except (SystemExit, Exception) as error:  # Spangate not up yet: try again later.
            failures += 1
            print(f"traffic: sending a trace failed: {error}", file=sys.stderr, flush=True)
        else:
            sent += 1
            checkout = summary["traces"][0]
            root = checkout["spans"][0]
            logs[service].trace_logs(checkout["trace_id"], root)
            line = {
                "service": service,
                "trace_id": checkout["trace_id"],
                "root_span_id": root["span_id"],
                "call_trace_id": call_trace_id,
            }
            print(json.dumps(line), flush=True)
        if args.iterations == 0 or sent + failures < args.iterations:
            time.sleep(args.interval)
    for service_logs in logs.values():
        service_logs.shutdown()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
