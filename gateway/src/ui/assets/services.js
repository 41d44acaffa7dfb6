// Services: a RED table (rate, errors, duration) and a service graph. The numbers come
// from the span-metrics plugin's series on /metrics when the gateway has them
// (`traces_spanmetrics_*`, `traces_service_graph_*`), otherwise from TraceQL metrics
// queries over the selected time range. The view says which.

import { h, svg, clear, formatDuration, formatNumber, serviceHue } from "./dom.js";
import * as api from "./api.js";

const SERVICE = "resource.service.name";

/// Prometheus text format → [{name, labels, value}] for the families in `wanted`.
export function parsePrometheus(text, wanted) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match || !wanted(match[1])) continue;
    const labels = {};
    if (match[2]) {
      const labelPattern = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;
      let label;
      while ((label = labelPattern.exec(match[2]))) {
        labels[label[1]] = label[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
      }
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/// The quantile `q` of a cumulative histogram [{le, count}] (Prometheus's linear
/// interpolation inside the bucket), in the buckets' unit.
export function histogramQuantile(q, buckets) {
  const sorted = buckets.slice().sort((a, b) => a.le - b.le);
  const total = sorted.length ? sorted[sorted.length - 1].count : 0;
  if (!total) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const { le, count } of sorted) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      return lowerBound + (le - lowerBound) * ((rank - lowerCount) / Math.max(count - lowerCount, 1));
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

/// Per-service totals and edges from span-metrics series; null when there are none.
/// With `tenant` set, series whose `label` (the gateway's `multitenancy.tenant_label`)
/// names another tenant are left out.
export function fromSpanMetrics(text, tenant, label = "tenant") {
  const samples = parsePrometheus(text, (name) =>
    name.startsWith("traces_spanmetrics_") || name.startsWith("traces_service_graph_request"));
  const mine = samples.filter((sample) => !tenant || !sample.labels[label] || sample.labels[label] === tenant);
  if (!mine.some((sample) => sample.name === "traces_spanmetrics_calls_total")) return null;
  const services = new Map();
  const service = (name) => {
    if (!services.has(name)) services.set(name, { name, calls: 0, errors: 0, sum: 0, count: 0, buckets: new Map() });
    return services.get(name);
  };
  const edges = new Map();
  const edge = (client, server) => {
    const key = `${client}\u0000${server}`;
    if (!edges.has(key)) edges.set(key, { client, server, calls: 0, errors: 0 });
    return edges.get(key);
  };
  for (const { name, labels, value } of mine) {
    if (name === "traces_spanmetrics_calls_total" && labels.service) {
      const entry = service(labels.service);
      entry.calls += value;
      if (labels.status_code === "STATUS_CODE_ERROR") entry.errors += value;
    } else if (name === "traces_spanmetrics_latency_sum" && labels.service) {
      service(labels.service).sum += value;
    } else if (name === "traces_spanmetrics_latency_count" && labels.service) {
      service(labels.service).count += value;
    } else if (name === "traces_spanmetrics_latency_bucket" && labels.service) {
      const buckets = service(labels.service).buckets;
      const le = labels.le === "+Inf" ? Infinity : Number(labels.le);
      buckets.set(le, (buckets.get(le) || 0) + value);
    } else if (name === "traces_service_graph_request_total" && labels.client && labels.server) {
      edge(labels.client, labels.server).calls += value;
    } else if (name === "traces_service_graph_request_failed_total" && labels.client && labels.server) {
      edge(labels.client, labels.server).errors += value;
    }
  }
  const nodes = [...services.values()].map((entry) => {
    const buckets = [...entry.buckets].map(([le, count]) => ({ le, count }));
    return {
      name: entry.name,
      calls: entry.calls,
      errors: entry.errors,
      p50: histogramQuantile(0.5, buckets) * 1e9,
      p95: histogramQuantile(0.95, buckets) * 1e9,
      mean: entry.count ? (entry.sum / entry.count) * 1e9 : NaN,
    };
  });
  return { nodes, edges: [...edges.values()] };
}

const labelOf = (series, key) => {
  const label = (series.labels || []).find((candidate) => candidate.key === key)?.value || {};
  return label.stringValue ?? label.doubleValue ?? label.intValue;
};

function byService(answer, valueKey = null) {
  const result = new Map();
  for (const series of answer.series || []) {
    const name = labelOf(series, SERVICE);
    if (name === undefined) continue;
    const key = valueKey ? `${name}\u0000${labelOf(series, valueKey)}` : name;
    result.set(key, series.value ?? 0);
  }
  return result;
}

/// The queries of the TraceQL-metrics fallback, shown in the view as they are sent.
export const TRACEQL_QUERIES = {
  rate: `{} | rate() by (${SERVICE})`,
  errors: `{ status = error } | rate() by (${SERVICE})`,
  duration: `{} | quantile_over_time(duration, .5, .95) by (${SERVICE})`,
  edges: (name) =>
    `{ ${SERVICE} = ${JSON.stringify(name)} } > { ${SERVICE} != ${JSON.stringify(name)} } | count_over_time() by (${SERVICE})`,
};

async function fromTraceQL(rangeSeconds) {
  const [rates, errors, durations] = await Promise.all([
    api.metricsInstant(TRACEQL_QUERIES.rate, rangeSeconds),
    api.metricsInstant(TRACEQL_QUERIES.errors, rangeSeconds),
    api.metricsInstant(TRACEQL_QUERIES.duration, rangeSeconds),
  ]);
  const rate = byService(rates);
  const errorRate = byService(errors);
  const quantiles = byService(durations, "p");
  const names = [...rate.keys()].sort();
  const nodes = names.map((name) => ({
    name,
    rate: rate.get(name),
    errorRate: errorRate.get(name) || 0,
    p50: (quantiles.get(`${name}\u00000.5`) ?? NaN) * 1e9,
    p95: (quantiles.get(`${name}\u00000.95`) ?? NaN) * 1e9,
  }));
  const edgeAnswers = await Promise.all(
    names.map((name) => api.metricsInstant(TRACEQL_QUERIES.edges(name), rangeSeconds)));
  const edges = [];
  names.forEach((client, i) => {
    for (const [server, calls] of byService(edgeAnswers[i])) {
      if (calls > 0) edges.push({ client, server, calls, errors: 0 });
    }
  });
  return { nodes, edges };
}

/// The label naming the tenant on metrics plugins' series, as the gateway wrote it into
/// the page.
function tenantLabel() {
  return document.querySelector('meta[name="spangate-tenant-label"]')?.content || "tenant";
}

/// The Services tab. `state` keeps the previous span-metrics scrape, for rates; says
/// whether the rates still wait for a second read.
export async function showServices(container, rangeSeconds, state) {
  const text = await api.prometheusText().catch(() => "");
  const metrics = fromSpanMetrics(text, api.tenant(), tenantLabel());
  let model;
  let source;
  let rateKnown = false;
  if (metrics) {
    const now = performance.now();
    const previous = state.previous;
    const seconds = previous ? (now - previous.at) / 1000 : 0;
    rateKnown = seconds > 0;
    for (const node of metrics.nodes) {
      const before = previous?.calls.get(node.name);
      node.rate = before !== undefined && seconds > 0 ? (node.calls - before.calls) / seconds : NaN;
      node.errorRate = before !== undefined && seconds > 0 ? (node.errors - before.errors) / seconds : NaN;
    }
    state.previous = { at: now, calls: new Map(metrics.nodes.map((node) => [node.name, node])) };
    model = metrics;
    source = h("p", { class: "source", id: "services-source", dataset: { source: "span-metrics" } },
      "Source: the span-metrics plugin's series on ", h("a", { href: "/metrics" }, "/metrics"),
      " (", h("code", {}, "traces_spanmetrics_calls_total"), ", ", h("code", {}, "traces_spanmetrics_latency"),
      ", ", h("code", {}, "traces_service_graph_request_total"),
      "): calls and errors counted since the gateway started, durations from the latency histogram; ",
      "rates from the change between two reads of /metrics",
      seconds ? ` ${formatNumber(seconds, 1)} s apart.` : " (shown from the next read, in a moment).");
  } else {
    model = await fromTraceQL(rangeSeconds);
    source = h("p", { class: "source", id: "services-source", dataset: { source: "traceql" } },
      `Source: TraceQL metrics over the selected range (no span-metrics series on /metrics; `,
      "add ", h("code", {}, "builtin:span-metrics"), " to the pipeline for them): ",
      h("code", {}, TRACEQL_QUERIES.rate), ", ", h("code", {}, TRACEQL_QUERIES.errors), ", ",
      h("code", {}, TRACEQL_QUERIES.duration), "; edges: each service's child spans in other services, ",
      h("code", {}, TRACEQL_QUERIES.edges("A")), ".");
  }
  clear(container).append(source, graph(model), redTable(model, Boolean(metrics)));
  // Span-metrics rates are known from the second read on.
  return { awaitingRates: Boolean(metrics) && !rateKnown };
}

/// Spans per second, or per minute when under one a second; "–" before it is known.
function rate(perSecond) {
  if (!Number.isFinite(perSecond)) return "–";
  if (perSecond > 0 && perSecond < 1) return `${formatNumber(perSecond * 60, 2)}/min`;
  return `${formatNumber(perSecond, 2)}/s`;
}

function redTable(model, counted) {
  const rows = model.nodes.slice().sort((a, b) => a.name.localeCompare(b.name)).map((node) => {
    const errorShare = counted ? (node.calls ? node.errors / node.calls : NaN) : (node.rate ? node.errorRate / node.rate : NaN);
    return h("tr", { class: "red-row", dataset: { service: node.name } },
      h("td", { class: "service" }, node.name),
      h("td", { class: "num rate" }, rate(node.rate)),
      counted ? h("td", { class: "num calls" }, formatNumber(node.calls, 0)) : null,
      h("td", { class: "num errors" }, Number.isFinite(errorShare) ? `${formatNumber(errorShare * 100, 1)}%` : "–"),
      h("td", { class: "num p50" }, formatDuration(node.p50)),
      h("td", { class: "num p95" }, formatDuration(node.p95)));
  });
  return h("table", { class: "red", id: "red-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Service"), h("th", { class: "num" }, "Rate"),
      counted ? h("th", { class: "num" }, "Calls") : null, h("th", { class: "num" }, "Errors"),
      h("th", { class: "num" }, "p50"), h("th", { class: "num" }, "p95"))),
    h("tbody", {}, rows));
}

// CSSOM, not a style attribute: the page's policy allows no inline styles.
function hued(element, name) {
  element.style.setProperty("--hue", serviceHue(name));
  return element;
}

/// Layers by longest path from a service nobody calls (cycles cut where met), one
/// column per layer; edges as arrows labelled with their calls.
function graph(model) {
  const names = [...new Set([...model.nodes.map((node) => node.name),
    ...model.edges.flatMap((edge) => [edge.client, edge.server])])].sort();
  const outgoing = new Map(names.map((name) => [name, []]));
  for (const edge of model.edges) outgoing.get(edge.client).push(edge.server);
  const layer = new Map();
  const visit = (name, depth, path) => {
    if (path.has(name) || (layer.get(name) ?? -1) >= depth) return;
    layer.set(name, depth);
    path.add(name);
    for (const next of outgoing.get(name)) visit(next, depth + 1, path);
    path.delete(name);
  };
  const called = new Set(model.edges.map((edge) => edge.server));
  for (const name of names) if (!called.has(name)) visit(name, 0, new Set());
  for (const name of names) if (!layer.has(name)) visit(name, 0, new Set());
  const columns = [];
  for (const name of names) (columns[layer.get(name)] ||= []).push(name);
  const width = 170;
  const height = 54;
  const gapX = 90;
  const gapY = 26;
  const position = new Map();
  columns.forEach((column, x) => column.forEach((name, y) =>
    position.set(name, { x: 20 + x * (width + gapX), y: 20 + y * (height + gapY) })));
  const totalWidth = 40 + columns.length * (width + gapX) - gapX;
  const totalHeight = 40 + Math.max(1, ...columns.map((column) => column.length)) * (height + gapY) - gapY;
  const byName = new Map(model.nodes.map((node) => [node.name, node]));
  const edgeShapes = model.edges.map((edge) => {
    const from = position.get(edge.client);
    const to = position.get(edge.server);
    const x1 = from.x + width;
    const y1 = from.y + height / 2;
    const x2 = to.x;
    const y2 = to.y + height / 2;
    const back = x2 <= x1;
    const d = back
      ? `M${from.x + width / 2},${from.y + height} C${from.x + width / 2},${from.y + height + 40} ${to.x + width / 2},${to.y + height + 40} ${to.x + width / 2},${to.y + height}`
      : `M${x1},${y1} C${x1 + gapX / 2},${y1} ${x2 - gapX / 2},${y2} ${x2},${y2}`;
    return svg("g", { class: `graph-edge${edge.errors ? " error" : ""}`, "data-client": edge.client, "data-server": edge.server },
      svg("path", { d, "marker-end": "url(#arrow)" }),
      svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, "text-anchor": "middle" },
        `${formatNumber(edge.calls, 0)} call${edge.calls === 1 ? "" : "s"}${edge.errors ? `, ${formatNumber(edge.errors, 0)} failed` : ""}`));
  });
  const nodeShapes = names.map((name) => {
    const { x, y } = position.get(name);
    const node = byName.get(name);
    const failing = node && (node.errors > 0 || node.errorRate > 0);
    return svg("g", { class: `graph-node${failing ? " error" : ""}`, "data-service": name, transform: `translate(${x},${y})` },
      hued(svg("rect", { width, height, rx: 8 }), name),
      svg("text", { x: 10, y: 22, class: "node-name" }, name.length > 22 ? `${name.slice(0, 21)}…` : name),
      svg("text", { x: 10, y: 42, class: "node-stats" }, node
        ? `${rate(node.rate)} · p95 ${formatDuration(node.p95)}`
        : "no spans of its own"));
  });
  return h("div", { class: "graph", id: "service-graph" },
    svg("svg", { viewBox: `0 0 ${totalWidth} ${totalHeight}`, width: totalWidth, height: totalHeight, role: "img", "aria-label": "service graph" },
      svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        svg("path", { d: "M0,0 L10,5 L0,10 z" }))),
      edgeShapes, nodeShapes));
}
