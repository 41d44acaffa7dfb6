"""py_zipkin: `py_zipkin_client.py BASE_URL V1_JSON|V2_JSON|V2_PROTO3` encodes a trace with
py_zipkin's encoders and posts it: a shared server span (a 64-bit trace id for V1_JSON,
128-bit otherwise) with a client, a producer, a consumer and a local child; tags,
annotations, remote endpoints (IPv4 and IPv6), `error` tags. The same trace as
../zipkin-node/client.js but for the client's address (IPv6 here). Prints, as one JSON
line, the ids and microsecond times of what was sent."""

import json
import secrets
import sys
import time

import requests
from py_zipkin import Encoding, Kind
from py_zipkin.encoding import Span, create_endpoint, get_encoder

base_url, encoding_name = sys.argv[1], sys.argv[2]
encoding = Encoding[encoding_name]
path, content_type = {
    Encoding.V1_JSON: ("/api/v1/spans", "application/json"),
    Encoding.V2_JSON: ("/api/v2/spans", "application/json"),
    Encoding.V2_PROTO3: ("/api/v2/spans", "application/x-protobuf"),
}[encoding]

# Whole seconds plus binary fractions: py_zipkin's int(seconds * 1e6) is exact.
t0 = float(int(time.time()))
trace_id = secrets.token_hex(8 if encoding is Encoding.V1_JSON else 16)
ids = {name: secrets.token_hex(8) for name in ("root", "client", "producer", "consumer", "local")}
local = create_endpoint(port=8080, service_name="shop-py", host="10.1.2.3")

# (name, id, parent, kind, start, duration, remote endpoint, tags, annotations)
table = [
    ("get /checkout", "root", None, Kind.SERVER, t0, 0.25,
     create_endpoint(port=51000, host="192.168.0.7", use_defaults=False),
     {"http.method": "GET", "http.path": "/checkout"}, {"cache.miss": t0 + 0.0625}),
    ("post /pay", "client", "root", Kind.CLIENT, t0 + 0.125, 0.0625,
     create_endpoint(port=9000, service_name="payments", host="2001:db8::7"),
     {"error": "payment declined", "http.status_code": "502"}, {}),
    # py_zipkin's v1 encoder has no address key for messaging spans.
    ("publish order", "producer", "root", Kind.PRODUCER, t0 + 0.1875, 0.03125,
     None if encoding is Encoding.V1_JSON
     else create_endpoint(port=9092, service_name="kafka", host="10.0.0.5"),
     {"messaging.system": "kafka"}, {}),
    ("consume order", "consumer", "producer", Kind.CONSUMER, t0 + 0.21875, 0.015625, None,
     {"messaging.destination": "orders"}, {}),
    ("render", "local", "root", Kind.LOCAL, t0 + 0.234375, 0.0078125, None,
     {"lc": "templates", "error": "true"}, {}),
]

encoder = get_encoder(encoding)
sent = {"trace_id": trace_id.rjust(32, "0"), "spans": []}
encoded = []
for name, key, parent, kind, start, duration, remote, tags, annotations in table:
    span = Span(
        trace_id=trace_id,
        name=name,
        parent_id=ids[parent] if parent else None,
        span_id=ids[key],
        kind=kind,
        timestamp=start,
        duration=duration,
        local_endpoint=local,
        remote_endpoint=remote,
        debug=key == "root",
        shared=key == "root",
        annotations=annotations,
        tags=tags,
    )
    encoded.append(encoder.encode_span(span))
    start_us = int(start * 1_000_000)
    sent["spans"].append(
        {
            "name": name,
            "span_id": ids[key],
            "parent_id": ids[parent] if parent else "",
            "start_us": start_us,
            "end_us": start_us + int(duration * 1_000_000),
            "events_us": [int(t * 1_000_000) for t in annotations.values()],
        }
    )

response = requests.post(
    base_url + path,
    data=encoder.encode_queue(encoded),
    headers={"Content-Type": content_type},
    timeout=10,
)
if response.status_code != 202:
    print(f"POST {path}: {response.status_code} {response.text}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(sent))
