// Sends one known trace with the Node.js jaeger-client (OpenTracing) and prints the
// Jaeger batch it sent as JSON (the format of tests/clients/jaeger-python/jaeger_json.py).
//
// usage: node send.js udp HOST PORT   (agent, binary Thrift over UDP)
//        node send.js http URL        (collector, binary Thrift over HTTP, chunked)
'use strict';

const opentracing = require('opentracing');
const jaeger = require('jaeger-client');

// thriftrw names enum values.
const TAG_TYPES = { STRING: 'string', DOUBLE: 'double', BOOL: 'bool', LONG: 'long', BINARY: 'binary' };

const hex64 = (buffer) => Buffer.from(buffer || []).toString('hex').padStart(16, '0');
const int64 = (buffer) => Buffer.from(buffer).readBigInt64BE(0);

function tagJson(tag) {
  const type = TAG_TYPES[tag.vType];
  const value = {
    string: tag.vStr,
    double: tag.vDouble,
    bool: tag.vBool,
    long: tag.vLong && tag.vLong.length ? String(int64(tag.vLong)) : '0',
    binary: Buffer.from(tag.vBinary || []).toString('hex'),
  }[type];
  return { key: tag.key, type, value };
}

function spanJson(span) {
  const start = int64(span.startTime);
  return {
    traceIdHigh: hex64(span.traceIdHigh),
    traceIdLow: hex64(span.traceIdLow),
    spanId: hex64(span.spanId),
    parentSpanId: hex64(span.parentSpanId),
    operationName: span.operationName,
    flags: span.flags,
    startUnixNano: String(start * 1000n),
    endUnixNano: String((start + int64(span.duration)) * 1000n),
    references: span.references.map((ref) => ({
      refType: ref.refType,
      traceIdHigh: hex64(ref.traceIdHigh),
      traceIdLow: hex64(ref.traceIdLow),
      spanId: hex64(ref.spanId),
    })),
    tags: span.tags.map(tagJson),
    logs: span.logs.map((log) => ({
      timeUnixNano: String(int64(log.timestamp) * 1000n),
      fields: log.fields.map(tagJson),
    })),
  };
}

function main() {
  const [transport, ...args] = process.argv.slice(2);
  const reporter =
    transport === 'udp'
      ? { agentHost: args[0], agentPort: Number(args[1]) }
      : { collectorEndpoint: args[0] };
  const tracer = jaeger.initTracer(
    {
      serviceName: `jaeger-client-node-${transport}`,
      sampler: { type: 'const', param: 1 },
      reporter: { ...reporter, flushIntervalMs: 100 },
    },
    {
      tags: { 'deployment.environment': 'e2e', replica: 2 },
      traceId128bit: true,
      logger: { info() {}, error: console.error },
    },
  );
  // What the sender is handed is the Thrift the client writes: record it.
  const sender = tracer._reporter._sender;
  const spans = [];
  const append = sender.append.bind(sender);
  sender.append = (span, callback) => {
    spans.push(span);
    append(span, callback);
  };
  // The reporter keeps the process with its tags already converted to Thrift.
  const processTags = tracer._reporter._process.tags;

  const root = tracer.startSpan('checkout', { tags: { 'span.kind': 'server' } });
  root.setTag('http.method', 'POST');
  root.setTag('retry', true);
  root.setTag('items', 3);
  root.setTag('amount', 12.5);
  root.setTag('payload', Buffer.from([0, 1, 254, 255]));
  root.setTag('otel.status_code', 'ERROR');
  root.setTag('otel.status_description', 'card declined');
  root.setTag('w3c.tracestate', 'vendor=value');
  root.log({ event: 'validated', step: 1 });
  const enqueue = tracer.startSpan('enqueue', {
    childOf: root.context(),
    tags: { 'span.kind': 'producer', queue: 'orders' },
  });
  enqueue.finish();
  const consume = tracer.startSpan('consume', {
    references: [opentracing.followsFrom(enqueue.context())],
    tags: { 'span.kind': 'consumer' },
  });
  consume.finish();
  const charge = tracer.startSpan('charge', {
    references: [opentracing.childOf(root.context()), opentracing.followsFrom(enqueue.context())],
    tags: { 'span.kind': 'client', 'http.status_code': 404 },
  });
  charge.log({ message: 'no event name here' });
  charge.finish();
  root.finish();
  const traceId = root.context().traceIdStr.padStart(32, '0');
  tracer.close(() => {
    const batch = {
      process: { serviceName: tracer._serviceName, tags: processTags.map(tagJson) },
      spans: spans.map(spanJson),
    };
    console.log(JSON.stringify({ traceId, batches: [batch] }));
  });
}

main();
