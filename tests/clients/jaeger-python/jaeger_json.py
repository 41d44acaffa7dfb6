"""The Jaeger batches a client sent, as the JSON the end-to-end tests read.

Ids are 16 hex digits (each 64-bit half), times are Unix nanoseconds as decimal
strings, and each tag is {"key", "type", "value"} with the type named as the test
reads it: string, bool, long (decimal string), double (number), binary (hex).
"""

THRIFT_TAG_TYPES = {0: "string", 1: "double", 2: "bool", 3: "long", 4: "binary"}
PROTO_TAG_TYPES = {0: "string", 1: "bool", 2: "long", 3: "double", 4: "binary"}
REF_TYPES = {0: "CHILD_OF", 1: "FOLLOWS_FROM"}


def _hex64(value):
    return format(value & 0xFFFFFFFFFFFFFFFF, "016x")


def _tag(key, kind, value):
    if kind == "long":
        value = str(value)
    elif kind == "binary":
        value = bytes(value or b"").hex()
    return {"key": key, "type": kind, "value": value}


def thrift_tag(tag):
    kind = THRIFT_TAG_TYPES[tag.vType]
    value = {
        "string": tag.vStr or "",
        "double": tag.vDouble or 0.0,
        "bool": bool(tag.vBool),
        "long": tag.vLong or 0,
        "binary": tag.vBinary,
    }[kind]
    return _tag(tag.key, kind, value)


def thrift_batch(batch):
    """A jaeger.thrift Batch (generated Python classes) as JSON."""
    spans = []
    for span in batch.spans:
        start = span.startTime * 1000
        spans.append(
            {
                "traceIdHigh": _hex64(span.traceIdHigh),
                "traceIdLow": _hex64(span.traceIdLow),
                "spanId": _hex64(span.spanId),
                "parentSpanId": _hex64(span.parentSpanId or 0),
                "operationName": span.operationName,
                "flags": span.flags,
                "startUnixNano": str(start),
                "endUnixNano": str((span.startTime + span.duration) * 1000),
                "references": [
                    {
                        "refType": REF_TYPES[ref.refType],
                        "traceIdHigh": _hex64(ref.traceIdHigh),
                        "traceIdLow": _hex64(ref.traceIdLow),
                        "spanId": _hex64(ref.spanId),
                    }
                    for ref in span.references or []
                ],
                "tags": [thrift_tag(tag) for tag in span.tags or []],
                "logs": [
                    {
                        "timeUnixNano": str(log.timestamp * 1000),
                        "fields": [thrift_tag(tag) for tag in log.fields or []],
                    }
                    for log in span.logs or []
                ],
            }
        )
    return {
        "process": {
            "serviceName": batch.process.serviceName,
            "tags": [thrift_tag(tag) for tag in batch.process.tags or []],
        },
        "spans": spans,
    }


def _proto_tag(tag):
    kind = PROTO_TAG_TYPES[tag.v_type]
    value = {
        "string": tag.v_str,
        "bool": tag.v_bool,
        "long": tag.v_int64,
        "double": tag.v_float64,
        "binary": tag.v_binary,
    }[kind]
    return _tag(tag.key, kind, value)


def _nanos(timestamp):
    return timestamp.seconds * 1_000_000_000 + timestamp.nanos


def _id_halves(raw):
    raw = bytes(raw).rjust(16, b"\0")
    return raw[:8].hex(), raw[8:].hex()


def _proto_process(process):
    return {
        "serviceName": process.service_name,
        "tags": [_proto_tag(tag) for tag in process.tags],
    }


def proto_batch(batch):
    """A jaeger.api_v2 Batch (protobuf) as JSON; each span keeps its own process."""
    spans = []
    for span in batch.spans:
        high, low = _id_halves(span.trace_id)
        start = _nanos(span.start_time)
        spans.append(
            {
                "traceIdHigh": high,
                "traceIdLow": low,
                "spanId": bytes(span.span_id).hex(),
                "parentSpanId": "0000000000000000",
                "operationName": span.operation_name,
                "flags": span.flags,
                "startUnixNano": str(start),
                "endUnixNano": str(start + _nanos(span.duration)),
                "references": [
                    {
                        "refType": REF_TYPES[ref.ref_type],
                        "traceIdHigh": _id_halves(ref.trace_id)[0],
                        "traceIdLow": _id_halves(ref.trace_id)[1],
                        "spanId": bytes(ref.span_id).hex(),
                    }
                    for ref in span.references
                ],
                "tags": [_proto_tag(tag) for tag in span.tags],
                "logs": [
                    {
                        "timeUnixNano": str(_nanos(log.timestamp)),
                        "fields": [_proto_tag(tag) for tag in log.fields],
                    }
                    for log in span.logs
                ],
                "process": _proto_process(span.process)
                if span.HasField("process")
                else None,
            }
        )
    return {
        "process": _proto_process(batch.process) if batch.HasField("process") else None,
        "spans": spans,
    }
