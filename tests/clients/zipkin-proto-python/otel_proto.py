"""opentelemetry-exporter-zipkin-proto-http: `otel_proto.py BASE_URL` sends the trace of
../zipkin-python/otel_scene.py as Zipkin protobuf to BASE_URL/api/v2/spans."""

import os
import sys

from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zipkin-python"))
import otel_scene  # noqa: E402

otel_scene.run(
    ZipkinExporter(
        endpoint=f"{sys.argv[1]}/api/v2/spans",
        local_node_ipv4="10.1.2.3",
        local_node_port=8080,
    )
)
