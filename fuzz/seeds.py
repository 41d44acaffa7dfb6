#!/usr/bin/env python3
"""Writes the committed seed inputs of the fuzz targets, fuzz/corpus/<target>/seed-*.

The binary seeds are encoded by the same client libraries the end-to-end tests use
(their venvs come from `make clients`), one group per venv:

    V=~/.cache/spangate/venvs
    $V/otlp-tls-python/bin/python fuzz/seeds.py otlp       # OTLP protobuf, store values
    $V/jaeger-python/bin/python fuzz/seeds.py jaeger        # Jaeger Thrift
    $V/zipkin-proto-python/bin/python fuzz/seeds.py zipkin  # Zipkin protobuf
    python3 fuzz/seeds.py text                              # JSON, TraceQL, query strings
"""
import os
import sys

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
TRACE_ID = bytes(range(1, 17))
SPAN_ID = bytes([0, 0, 0, 0, 0, 0, 0, 7])
PARENT_ID = bytes([0, 0, 0, 0, 0, 0, 0, 3])


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, "seed-" + name), "wb") as out:
        out.write(data)


def write_numbered(target, prefix, inputs):
    for index, data in enumerate(inputs):
        write(target, "%s-%d" % (prefix, index), data)


def otlp():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key, **value):
        return KeyValue(key=key, value=AnyValue(**value))

    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.extend([kv("service.name", string_value="checkout")])
    scope = resource.scope_spans.add()
    scope.scope.name = "lib"
    span = scope.spans.add(
        trace_id=TRACE_ID, span_id=SPAN_ID, parent_span_id=PARENT_ID, name="GET /",
        kind=2, start_time_unix_nano=10**18, end_time_unix_nano=10**18 + 5000,
    )
    span.attributes.extend([
        kv("http.status_code", int_value=200), kv("ratio", double_value=0.5),
        kv("ok", bool_value=True), kv("raw", bytes_value=b"\x00\xff"),
    ])
    event = span.events.add(time_unix_nano=10**18 + 1, name="retry")
    event.attributes.extend([kv("attempt", int_value=2)])
    link = span.links.add(trace_id=bytes(16 * [9]), span_id=bytes(8 * [1]))
    link.attributes.extend([kv("kind", string_value="follows")])
    span.status.code = 2
    span.status.message = "boom"
    # A second span the validation refuses (short trace id).
    scope.spans.add(trace_id=b"\x01", span_id=SPAN_ID, name="bad")
    write("otlp_protobuf", "two-spans", request.SerializeToString())
    write("otlp_protobuf", "empty", b"")
    # Store values: version 1 | resource hash | scope hash | span; dictionary entries.
    header = bytes([1]) + (1).to_bytes(8, "big") + (2).to_bytes(8, "big")
    write("store_codec", "span-value", header + span.SerializeToString())
    write("store_codec", "resource-entry", resource.resource.SerializeToString())
    write("store_codec", "span-key", bytes(4) + (5).to_bytes(4, "big") + TRACE_ID + SPAN_ID)


def jaeger():
    from jaeger_client.thrift_gen.agent import Agent
    from jaeger_client.thrift_gen.jaeger import ttypes as j
    from thrift.Thrift import TMessageType
    from thrift.protocol import TBinaryProtocol, TCompactProtocol
    from thrift.transport import TTransport

    tag = lambda key, **value: j.Tag(key=key, **value)  # noqa: E731
    span = j.Span(
        traceIdLow=0x0102030405060708, traceIdHigh=0x090A0B0C0D0E0F10, spanId=7,
        parentSpanId=3, operationName="GET /", flags=1, startTime=10**15, duration=5000,
        references=[j.SpanRef(refType=j.SpanRefType.FOLLOWS_FROM, traceIdLow=1,
                              traceIdHigh=0, spanId=9)],
        tags=[tag("span.kind", vType=j.TagType.STRING, vStr="server"),
              tag("http.status_code", vType=j.TagType.LONG, vLong=500),
              tag("error", vType=j.TagType.BOOL, vBool=True),
              tag("ratio", vType=j.TagType.DOUBLE, vDouble=0.5),
              tag("raw", vType=j.TagType.BINARY, vBinary="\x00raw")],
        logs=[j.Log(timestamp=10**15 + 1,
                    fields=[tag("event", vType=j.TagType.STRING, vStr="retry")])],
    )
    batch = j.Batch(
        process=j.Process(serviceName="checkout",
                          tags=[tag("hostname", vType=j.TagType.STRING, vStr="a")]),
        spans=[span, j.Span(traceIdLow=0, traceIdHigh=0, spanId=0, parentSpanId=0,
                            operationName="zero ids", flags=0, startTime=0, duration=0)],
    )
    for target, factory in [("jaeger_compact", TCompactProtocol.TCompactProtocolFactory()),
                            ("jaeger_binary", TBinaryProtocol.TBinaryProtocolFactory())]:
        buffer = TTransport.TMemoryBuffer()
        protocol = factory.getProtocol(buffer)
        protocol.writeMessageBegin("emitBatch", TMessageType.ONEWAY, 0)
        Agent.emitBatch_args(batch=batch).write(protocol)
        protocol.writeMessageEnd()
        write(target, "emit-batch", buffer.getvalue())
    buffer = TTransport.TMemoryBuffer()
    batch.write(TBinaryProtocol.TBinaryProtocol(buffer))
    write("jaeger_binary", "http-batch", buffer.getvalue())


def zipkin():
    from opentelemetry.exporter.zipkin.proto.http.v2.gen import zipkin_pb2 as z

    span = z.Span(
        trace_id=TRACE_ID, id=SPAN_ID, parent_id=PARENT_ID, name="get /",
        kind=z.Span.Kind.SERVER, timestamp=10**15, duration=5000,
        local_endpoint=z.Endpoint(service_name="checkout", ipv4=bytes([10, 0, 0, 1]), port=80),
        remote_endpoint=z.Endpoint(service_name="db", ipv6=bytes(16)),
        annotations=[z.Annotation(timestamp=10**15 + 1, value="retry")],
        tags={"http.status_code": "500", "error": "boom", "otel.scope.name": "lib"},
        shared=True,
    )
    write("zipkin_proto", "list-of-spans", z.ListOfSpans(spans=[span]).SerializeToString())
    write("zipkin_proto", "short-trace-id",
          z.ListOfSpans(spans=[z.Span(trace_id=TRACE_ID[8:], id=SPAN_ID)]).SerializeToString())


def text():
    write("otlp_json", "one-span", """{"resourceSpans":[{"resource":{"attributes":[
{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"lib"},
"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
"parentSpanId":"eee19b7ec3c1b175","name":"op","kind":2,"startTimeUnixNano":"1544712660000000000",
"endTimeUnixNano":1544712661000000000,"attributes":[{"key":"a","value":{"intValue":"9007199254740993"}},
{"key":"b","value":{"doubleValue":1.5}},{"key":"c","value":{"boolValue":true}},
{"key":"d","value":{"arrayValue":{"values":[{"stringValue":"x"}]}}},
{"key":"e","value":{"kvlistValue":{"values":[{"key":"f","value":{"bytesValue":"AAE="}}]}}}],
"events":[{"timeUnixNano":"1544712660500000000","name":"ev","attributes":[]}],
"links":[{"traceId":"5b8efff798038103d269b633813fc60d","spanId":"eee19b7ec3c1b176"}],
"status":{"code":2,"message":"boom"}}]}]}]}""")
    write("otlp_json", "bad-id", '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00","spanId":""}]}]}]}')
    write("otlp_json", "empty", "{}")

    v2 = """[{"traceId":"5b8efff798038103d269b633813fc60c","id":"eee19b7ec3c1b174",
"parentId":"eee19b7ec3c1b173","name":"get /","kind":"SERVER","timestamp":1544712660000000,
"duration":5000,"localEndpoint":{"serviceName":"checkout","ipv4":"10.0.0.1","port":80},
"remoteEndpoint":{"serviceName":"db","ipv6":"::1"},"annotations":[{"timestamp":1544712660000001,
"value":"retry"}],"tags":{"http.status_code":"500","error":"boom"},"shared":true}]"""
    write("zipkin_json", "v2", v2)
    write("zipkin_json", "v1", """[{"traceId":"5b8efff798038103","id":"eee19b7ec3c1b174",
"name":"get","timestamp":1544712660000000,"duration":5000,"annotations":[
{"timestamp":1544712660000000,"value":"sr","endpoint":{"serviceName":"checkout","ipv4":"10.0.0.1"}},
{"timestamp":1544712660005000,"value":"ss","endpoint":{"serviceName":"checkout"}}],
"binaryAnnotations":[{"key":"http.path","value":"/","endpoint":{"serviceName":"checkout"}},
{"key":"lc","value":"","endpoint":{"serviceName":"worker"}}]}]""")
    write("zipkin_json", "empty-list", "[]")

    queries = [
        '{ resource.service.name = "checkout" && span.http.status_code >= 500 }',
        '{ .a =~ "x.*" } >> { name != "y" } | count() > 2',
        '{ duration > 1.5s || status = error } | by(resource.service.name) | select(span.x)',
        '{ span."a b" = 1 } && !{ kind = server } ~ { event:name = "e" }',
        '{ trace:duration > 10ms } | rate() by (span.http.method)',
        '{ } | quantile_over_time(duration, .5, .99) with(exemplars=true)',
        '{ .x = `raw\\string` && .n = -3 && .f = 2.5e3 && parent = nil }',
        '({ a = 1 } | avg(duration) < 2h) &>> { link:traceID != "" }',
    ]
    write_numbered("traceql", "query", queries)

    params = [
        "\nq=%7B%7D&limit=20&spss=3&start=1700000000&end=1700003600",
        "\ntags=service.name%3Dcheckout+error%3Dtrue&minDuration=10ms&maxDuration=2s",
        "\nservice.name=cart&http.status_code=500&name=GET",
        'service.name\ntags=a="b c" d=e&limit=abc&scope=resource&start=10&end=20',
        "span.http.method\nq={ .a = 1 }&query=rate()&since=1h&step=30s&exemplars=5",
        "event%253Aname\nstart=2026-12-05T00:00:00Z&end=1796515200&step=1m&instant=true",
        "\nmode=blocks&start=1&end=2",
    ]
    write_numbered("query_params", "params", params)
    # `arbitrary` reads the plugin target's structured input from any bytes.
    write("plugin_edits", "zeros", bytes(64))
    write("plugin_edits", "ramp", bytes(range(256)))
    write("plugin_edits", "sample-edits", bytes([0, 0x3F, 0xFF] + [1, 0, 2, 0, 0] * 20))


{"otlp": otlp, "jaeger": jaeger, "zipkin": zipkin, "text": text}[sys.argv[1]]()
