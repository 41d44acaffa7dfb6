"""opentelemetry-exporter-zipkin-json: `otel_json.py BASE_URL v1|v2` sends the trace of
otel_scene.py as Zipkin JSON v1 or v2 to BASE_URL/api/<version>/spans."""

import sys

from opentelemetry.exporter.zipkin.encoder import Protocol
from opentelemetry.exporter.zipkin.json import ZipkinExporter

import otel_scene

base_url, version = sys.argv[1], sys.argv[2]
otel_scene.run(
    ZipkinExporter(
        version=Protocol(version),
        endpoint=f"{base_url}/api/{version}/spans",
        local_node_ipv4="10.1.2.3",
        local_node_port=8080,
        # Its v1 encoder fails on the default (None).
        max_tag_value_length=128,
    )
)
