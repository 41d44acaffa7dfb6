"""The trace the OpenTelemetry Zipkin exporters send (JSON here, protobuf from
../zipkin-proto-python): five spans of every kind under one server span, attributes of
each type, events with and without attributes, an OK and an ERROR status. Prints, as one
JSON line, the ids and microsecond times of what was sent; tests/tests/zipkin.rs holds
the rest of the expected mapping."""

import json
import sys
import time

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

US = 1000  # nanoseconds


def run(exporter):
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "shop-otel",
                "service.version": "1.2.3",
                "deployment.environment": "test",
            }
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("shop.checkout", "0.9.1")
    # Whole milliseconds plus whole microseconds: the exporters' rounding to
    # microseconds changes nothing.
    t0 = time.time_ns() // 1_000_000 * 1_000_000

    root = tracer.start_span(
        "GET /checkout",
        kind=SpanKind.SERVER,
        start_time=t0,
        attributes={
            "http.method": "GET",
            "http.status_code": 200,
            "cached": False,
            "ratio": 0.5,
            "labels": ["a", "b"],
        },
    )
    root.add_event("cache.miss", {"key": "cart:42"}, timestamp=t0 + 62_500 * US)
    in_root = set_span_in_context(root)
    client = tracer.start_span(
        "POST /pay",
        context=in_root,
        kind=SpanKind.CLIENT,
        start_time=t0 + 125_000 * US,
        attributes={"peer.service": "payments"},
    )
    client.set_status(Status(StatusCode.ERROR, "payment declined"))
    client.end(end_time=t0 + 187_500 * US)
    producer = tracer.start_span(
        "publish order",
        context=in_root,
        kind=SpanKind.PRODUCER,
        start_time=t0 + 190_000 * US,
        attributes={"messaging.system": "kafka"},
    )
    producer.end(end_time=t0 + 195_000 * US)
    consumer = tracer.start_span(
        "consume order",
        context=set_span_in_context(producer),
        kind=SpanKind.CONSUMER,
        start_time=t0 + 200_000 * US,
    )
    consumer.end(end_time=t0 + 210_000 * US)
    internal = tracer.start_span(
        "render", context=in_root, kind=SpanKind.INTERNAL, start_time=t0 + 211_000 * US
    )
    internal.add_event("done", timestamp=t0 + 212_000 * US)
    internal.end(end_time=t0 + 213_000 * US)
    root.set_status(Status(StatusCode.OK))
    root.end(end_time=t0 + 250_000 * US)

    spans = memory.get_finished_spans()
    result = exporter.export(spans)
    if result is not SpanExportResult.SUCCESS:
        print(f"export failed: {result}", file=sys.stderr)
        sys.exit(1)
    sent = {
        "trace_id": f"{root.get_span_context().trace_id:032x}",
        # The SDK adds telemetry.sdk.* and a random service.instance.id.
        "resource": {key: str(value) for key, value in root.resource.attributes.items()},
        "spans": [],
    }
    for span in spans:
        sent["spans"].append(
            {
                "name": span.name,
                "span_id": f"{span.context.span_id:016x}",
                "parent_id": f"{span.parent.span_id:016x}" if span.parent else "",
                "start_us": span.start_time // US,
                "end_us": span.end_time // US,
                "events_us": [event.timestamp // US for event in span.events],
            }
        )
    print(json.dumps(sent))
