"""Sends one known trace with the OpenTelemetry Python SDK's Jaeger exporters and prints
the Jaeger batches they sent as JSON (jaeger_json.py) on stdout.

usage: otel_send.py thrift-udp HOST PORT   (agent, compact Thrift over UDP)
       otel_send.py thrift-http URL        (collector, binary Thrift over HTTP)
       otel_send.py grpc HOST:PORT         (collector, protobuf over gRPC)
"""

import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

import jaeger_json

SENT = []


def exporter_for(transport, args):
    if transport == "grpc":
        from opentelemetry.exporter.jaeger.proto import grpc as jaeger_grpc

        make_request = jaeger_grpc.PostSpansRequest

        def recording_request(batch):
            SENT.append(jaeger_json.proto_batch(batch))
            return make_request(batch=batch)

        jaeger_grpc.PostSpansRequest = recording_request
        return jaeger_grpc.JaegerExporter(collector_endpoint=args[0], insecure=True)

    from opentelemetry.exporter.jaeger.thrift import JaegerExporter, send

    def recording(method):
        def record(self, batch):
            SENT.append(jaeger_json.thrift_batch(batch))
            return method(self, batch)

        return record

    send.AgentClientUDP.emit = recording(send.AgentClientUDP.emit)
    send.Collector.submit = recording(send.Collector.submit)
    if transport == "thrift-udp":
        return JaegerExporter(agent_host_name=args[0], agent_port=int(args[1]))
    if transport == "thrift-http":
        return JaegerExporter(collector_endpoint=args[0])
    raise SystemExit(f"unknown transport {transport}")


def main():
    transport, args = sys.argv[1], sys.argv[2:]
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": f"otel-python-{transport}",
                "deployment.environment": "e2e",
                "host.cores": 4,
            }
        )
    )
    trace.set_tracer_provider(provider)
    provider.add_span_processor(BatchSpanProcessor(exporter_for(transport, args)))
    tracer = provider.get_tracer("shop.checkout", "1.2.3")

    with tracer.start_as_current_span("checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.method", "POST")
        root.set_attribute("retry", True)
        root.set_attribute("items", 3)
        root.set_attribute("amount", 12.5)
        root.set_attribute("labels", ("a", "b"))
        root.add_event("validated", {"step": 1, "ok": True})
        with tracer.start_as_current_span("enqueue", kind=SpanKind.PRODUCER) as enqueue:
            enqueue.set_attribute("queue", "orders")
            with tracer.start_as_current_span("consume", kind=SpanKind.CONSUMER):
                pass
        with tracer.start_as_current_span(
            "charge",
            kind=SpanKind.CLIENT,
            links=[Link(enqueue.get_span_context(), {"reason": "after"})],
        ) as charge:
            charge.set_attribute("peer.service", "bank")
            charge.set_status(Status(StatusCode.OK))
        with tracer.start_as_current_span("compute", kind=SpanKind.INTERNAL):
            pass
        root.set_status(Status(StatusCode.ERROR, "card declined"))
    trace_id = format(root.get_span_context().trace_id, "032x")
    provider.force_flush()
    provider.shutdown()
    print(json.dumps({"traceId": trace_id, "batches": SENT}))


if __name__ == "__main__":
    main()
