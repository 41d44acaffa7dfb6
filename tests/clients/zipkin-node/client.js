// zipkin-js with zipkin-transport-http: `node client.js BASE_URL v1|v2` records a trace
// through a Tracer and a BatchRecorder (explicit microsecond timestamps) and sends it as
// Zipkin JSON v1 or v2 to BASE_URL/api/<version>/spans: a server span with a client, a
// producer, a consumer and a local child; tags, a message, remote endpoints, `error`
// tags. Prints, as one JSON line, the ids and times of what was sent.
'use strict';

const {
  Annotation, BatchRecorder, ExplicitContext, InetAddress, TraceId, Tracer,
  jsonEncoder, option: {Some, None},
} = require('zipkin');
const {HttpLogger} = require('zipkin-transport-http');
const crypto = require('crypto');

const [baseUrl, version] = process.argv.slice(2);
const logger = new HttpLogger({
  endpoint: `${baseUrl}/api/${version}/spans`,
  jsonEncoder: version === 'v1' ? jsonEncoder.JSON_V1 : jsonEncoder.JSON_V2,
  httpInterval: 50,
});
logger.on('error', (error) => {
  console.error(`sending failed: ${error.message}`);
  process.exit(1);
});
const recorder = new BatchRecorder({logger});
const tracer = new Tracer({
  ctxImpl: new ExplicitContext(),
  recorder,
  localServiceName: 'shop-js',
});

const hex = (bytes) => crypto.randomBytes(bytes).toString('hex');
const traceId = hex(16);
const t0 = Math.floor(Date.now() / 1000) * 1000000;
const sent = {trace_id: traceId, spans: []};

// Records `annotations` ([offset in µs, Annotation]; the first one starts the span) on a
// new span under `parent`, after its local service name and address.
function span(name, spanId, parent, annotations) {
  const id = new TraceId({
    traceId,
    spanId,
    parentId: parent ? new Some(parent) : None,
    sampled: new Some(true),
  });
  const start = annotations[0][0];
  const local = [
    [start, new Annotation.ServiceName('shop-js')],
    [start, new Annotation.LocalAddr({host: new InetAddress('10.1.2.3'), port: 8080})],
  ];
  tracer.letId(id, () => {
    for (const [offset, annotation] of [...local, ...annotations]) {
      tracer.recordAnnotation(annotation, t0 + offset);
    }
  });
  const times = annotations.map(([offset]) => t0 + offset);
  const messages = annotations
    .filter(([, annotation]) => annotation instanceof Annotation.Message)
    .map(([offset]) => t0 + offset);
  sent.spans.push({
    // zipkin-js lower-cases span names.
    name: name.toLowerCase(), span_id: spanId, parent_id: parent || '',
    start_us: Math.min(...times), end_us: Math.max(...times), events_us: messages,
  });
}

const address = (host, port, serviceName) => ({host: new InetAddress(host), port, serviceName});
// The same trace as ../zipkin-python/py_zipkin_client.py but for the client's address.
const root = hex(8);
const producer = hex(8);
span('GET /checkout', root, null, [
  [0, new Annotation.ServerRecv()],
  [0, new Annotation.Rpc('GET /checkout')],
  [0, new Annotation.BinaryAnnotation('http.method', 'GET')],
  [0, new Annotation.BinaryAnnotation('http.path', '/checkout')],
  [0, new Annotation.ClientAddr(address('192.168.0.7', 51000))],
  [62500, new Annotation.Message('cache.miss')],
  [250000, new Annotation.ServerSend()],
]);
span('POST /pay', hex(8), root, [
  [125000, new Annotation.ClientSend()],
  [125000, new Annotation.Rpc('POST /pay')],
  [125000, new Annotation.BinaryAnnotation('error', 'payment declined')],
  [125000, new Annotation.BinaryAnnotation('http.status_code', '502')],
  [125000, new Annotation.ServerAddr(address('10.9.8.7', 9000, 'payments'))],
  [187500, new Annotation.ClientRecv()],
]);
span('publish order', producer, root, [
  [190000, new Annotation.ProducerStart()],
  [190000, new Annotation.Rpc('publish order')],
  [190000, new Annotation.BinaryAnnotation('messaging.system', 'kafka')],
  [190000, new Annotation.MessageAddr(address('10.0.0.5', 9092, 'kafka'))],
  [195000, new Annotation.ProducerStop()],
]);
span('consume order', hex(8), producer, [
  [200000, new Annotation.ConsumerStart()],
  [200000, new Annotation.Rpc('consume order')],
  [200000, new Annotation.BinaryAnnotation('messaging.destination', 'orders')],
  [210000, new Annotation.ConsumerStop()],
]);
span('render', hex(8), root, [
  [211000, new Annotation.LocalOperationStart('render')],
  [211000, new Annotation.BinaryAnnotation('lc', 'templates')],
  [211000, new Annotation.BinaryAnnotation('error', 'true')],
  [213000, new Annotation.LocalOperationStop()],
]);

logger.on('success', () => {
  console.log(JSON.stringify(sent));
  process.exit(0);
});
logger.processQueue(logger.fetchImplementation);
setTimeout(() => {
  console.error('no answer within 20 s');
  process.exit(1);
}, 20000);
