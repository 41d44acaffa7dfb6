#!/usr/bin/env python3
"""Traffic for the Grafana example stack.

Runs the checkout trace of examples/python-app/app.py again and again, alternating a few
service names, and after each trace writes log lines that carry its trace id
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

Prints one JSON line per trace sent: {"service", "trace_id", "root_span_id"}.
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
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags  # noqa: E402

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
        except (SystemExit, Exception) as error:  # Spangate not up yet: try again later.
            failures += 1
            print(f"traffic: sending a trace failed: {error}", file=sys.stderr, flush=True)
        else:
            sent += 1
            checkout = summary["traces"][0]
            root = checkout["spans"][0]
            logs[service].trace_logs(checkout["trace_id"], root)
            line = {"service": service, "trace_id": checkout["trace_id"], "root_span_id": root["span_id"]}
            print(json.dumps(line), flush=True)
        if args.iterations == 0 or sent + failures < args.iterations:
            time.sleep(args.interval)
    for service_logs in logs.values():
        service_logs.shutdown()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
