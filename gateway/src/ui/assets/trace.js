// A trace-by-id answer (Tempo's v2 JSON: base64 ids, enum names, 64-bit numbers as
// strings) turned into the rows of the waterfall: every span once, parents before their
// children, children by start time, with its depth. Pure functions, no DOM.

const KINDS = {
  SPAN_KIND_INTERNAL: "internal",
  SPAN_KIND_SERVER: "server",
  SPAN_KIND_CLIENT: "client",
  SPAN_KIND_PRODUCER: "producer",
  SPAN_KIND_CONSUMER: "consumer",
};
const STATUSES = { STATUS_CODE_OK: "ok", STATUS_CODE_ERROR: "error" };

/// A trace id as its full 32 hex digits: search answers drop leading zeros as Tempo's do,
/// and the view shows and links one spelling of each trace.
export function fullTraceId(id) {
  return String(id || "").toLowerCase().padStart(32, "0");
}

export function base64ToHex(text) {
  if (!text) return "";
  const bytes = atob(text);
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += bytes.charCodeAt(i).toString(16).padStart(2, "0");
  return hex;
}

/// An OTLP AnyValue (jsonpb) as display text.
export function anyValueText(value) {
  if (!value) return "";
  if ("stringValue" in value) return value.stringValue;
  if ("intValue" in value) return String(value.intValue);
  if ("doubleValue" in value) return String(value.doubleValue);
  if ("boolValue" in value) return String(value.boolValue);
  if ("bytesValue" in value) return `0x${base64ToHex(value.bytesValue)}`;
  if ("arrayValue" in value) {
    return `[${(value.arrayValue.values || []).map(anyValueText).join(", ")}]`;
  }
  if ("kvlistValue" in value) {
    const pairs = (value.kvlistValue.values || []).map((kv) => `${kv.key}: ${anyValueText(kv.value)}`);
    return `{${pairs.join(", ")}}`;
  }
  return "";
}

export function attributeList(attributes) {
  return (attributes || []).map((kv) => [kv.key, anyValueText(kv.value)]);
}

const nanos = (text) => BigInt(text || 0);

/// `{trace: {resourceSpans}}` → `{spans, byId, rows, start, duration, services, partial}`.
/// Times of spans, events are nanoseconds from the trace's start (Numbers).
export function parseTrace(answer) {
  const batches = answer?.trace?.resourceSpans || answer?.trace?.batches || [];
  const raw = [];
  let start = null;
  let end = null;
  for (const batch of batches) {
    const resource = attributeList(batch.resource?.attributes);
    const service = resource.find(([key]) => key === "service.name")?.[1] || "unknown service";
    for (const scopeSpans of batch.scopeSpans || []) {
      const scope = scopeSpans.scope || {};
      for (const span of scopeSpans.spans || []) {
        const spanStart = nanos(span.startTimeUnixNano);
        const spanEnd = nanos(span.endTimeUnixNano);
        if (start === null || spanStart < start) start = spanStart;
        if (end === null || spanEnd > end) end = spanEnd;
        raw.push({ span, spanStart, spanEnd, service, resource, scope });
      }
    }
  }
  if (start === null) {
    return { spans: [], byId: new Map(), rows: [], start: 0n, duration: 0, services: [], partial: false };
  }
  const spans = raw.map(({ span, spanStart, spanEnd, service, resource, scope }, index) => ({
    index,
    id: base64ToHex(span.spanId),
    parentId: base64ToHex(span.parentSpanId),
    traceId: base64ToHex(span.traceId),
    name: span.name || "",
    service,
    kind: KINDS[span.kind] || "unspecified",
    status: STATUSES[span.status?.code] || "unset",
    statusMessage: span.status?.message || "",
    start: Number(spanStart - start),
    duration: Number(spanEnd - spanStart),
    attributes: attributeList(span.attributes),
    events: (span.events || []).map((event) => ({
      name: event.name || "",
      time: Number(nanos(event.timeUnixNano) - start),
      attributes: attributeList(event.attributes),
    })),
    links: (span.links || []).map((link) => ({
      traceId: base64ToHex(link.traceId),
      spanId: base64ToHex(link.spanId),
      attributes: attributeList(link.attributes),
    })),
    resource,
    scope: [scope.name, scope.version].filter(Boolean).join(" "),
    depth: 0,
    children: [],
  }));
  const byId = new Map(spans.map((span) => [span.id, span]));
  const rows = treeOrder(spans, byId);
  const services = [...new Set(spans.map((span) => span.service))].sort();
  return {
    spans,
    byId,
    rows,
    start,
    duration: Number(end - start),
    services,
    partial: answer?.status === "PARTIAL" || answer?.status === 1,
  };
}

/// Depth-first, parents first; spans whose parent is absent are roots. Iterative, so a
/// 10,000-deep chain is fine.
function treeOrder(spans, byId) {
  const roots = [];
  for (const span of spans) {
    const parent = span.parentId && span.parentId !== span.id ? byId.get(span.parentId) : undefined;
    if (parent) parent.children.push(span);
    else roots.push(span);
  }
  const byStart = (a, b) => a.start - b.start || a.index - b.index;
  roots.sort(byStart);
  const rows = [];
  const stack = roots.slice().reverse().map((span) => [span, 0]);
  const seen = new Set();
  while (stack.length) {
    const [span, depth] = stack.pop();
    if (seen.has(span)) continue;
    seen.add(span);
    span.depth = depth;
    rows.push(span);
    span.children.sort(byStart);
    for (let i = span.children.length - 1; i >= 0; i--) stack.push([span.children[i], depth + 1]);
  }
  // Spans on a parent cycle are unreachable from any root: shown at the end, flat.
  for (const span of spans) if (!seen.has(span)) rows.push(span);
  return rows;
}

/// The rows left visible when the spans in `collapsed` hide their descendants.
export function visibleRows(rows, collapsed) {
  if (!collapsed.size) return rows;
  const visible = [];
  let hideBelow = Infinity;
  for (const span of rows) {
    if (span.depth > hideBelow) continue;
    hideBelow = collapsed.has(span.id) ? span.depth : Infinity;
    visible.push(span);
  }
  return visible;
}
