"""Sends one known trace with the jaeger-client Python tracer (OpenTracing) to a Jaeger
agent's compact Thrift UDP port and prints the Jaeger batches it sent as JSON.

usage: jaeger_client_send.py HOST PORT
"""

import json
import sys
import time

import opentracing
from jaeger_client import Config, reporter

import jaeger_json

SENT = []
_send = reporter.Reporter._send


def _recording_send(self, batch):
    SENT.append(jaeger_json.thrift_batch(batch))
    return _send(self, batch)


reporter.Reporter._send = _recording_send


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    config = Config(
        config={
            "sampler": {"type": "const", "param": 1},
            "local_agent": {"reporting_host": host, "reporting_port": port},
            "generate_128bit_trace_id": True,
            "tags": {"deployment.environment": "e2e", "replica": 2},
            "logging": False,
        },
        service_name="jaeger-client-python",
        validate=True,
    )
    tracer = config.initialize_tracer()
    root = tracer.start_span("checkout", tags={"span.kind": "server"})
    root.set_tag("http.method", "POST")
    root.set_tag("retry", True)
    root.set_tag("items", 3)
    root.set_tag("amount", 12.5)
    root.set_tag("error", True)
    root.log_kv({"event": "validated", "step": 1})
    enqueue = tracer.start_span(
        "enqueue", child_of=root, tags={"span.kind": "producer", "queue": "orders"}
    )
    enqueue.finish()
    consume = tracer.start_span(
        "consume",
        references=[opentracing.follows_from(enqueue.context)],
        tags={"span.kind": "consumer"},
    )
    consume.finish()
    charge = tracer.start_span(
        "charge",
        references=[
            opentracing.child_of(root.context),
            opentracing.follows_from(enqueue.context),
        ],
        tags={"span.kind": "client", "http.status_code": 503},
    )
    charge.log_kv({"message": "no event name here"})
    charge.finish()
    root.finish()
    trace_id = format(root.context.trace_id, "032x")
    # close() flushes the reporter on its own I/O loop thread; wait for it (bounded).
    closed = tracer.close()
    deadline = time.monotonic() + 10
    while not closed.done() and time.monotonic() < deadline:
        time.sleep(0.05)
    print(json.dumps({"traceId": trace_id, "batches": SENT}))


if __name__ == "__main__":
    main()
