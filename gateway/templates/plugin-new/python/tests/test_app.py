"""Native tests: no wasm, no gateway. The harness encodes the spans as the gateway would
for the plugin's needs, runs `process`, and applies the edits with the gateway's checks."""

from app import Plugin
from spangate_plugin.testing import ProcessorHarness, TestSpan


def test_spans_get_hello_and_the_configured_name_is_dropped() -> None:
    harness = ProcessorHarness(Plugin, '{"drop_name": "GET /healthz"}')
    out = harness.process([TestSpan(1, 1).named("GET /users/42"), TestSpan(1, 2).named("GET /healthz")])
    assert [span.name for span in out] == ["GET /users/42"]
    assert out[0].attributes == [("plugin.hello", "world")]
