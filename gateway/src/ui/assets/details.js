// The selected span: identity, timing, status, then its attributes, events, links,
// resource and scope, as tables.

import { h, clear, formatDuration } from "./dom.js";

export function showSpan(container, span, trace) {
  const status = span.status === "error"
    ? h("span", { class: "badge error" }, `error${span.statusMessage ? `: ${span.statusMessage}` : ""}`)
    : h("span", { class: `badge ${span.status}` }, span.status + (span.statusMessage ? `: ${span.statusMessage}` : ""));
  const parent = trace.byId.get(span.parentId);
  clear(container).append(
    h("h3", { class: "detail-title" }, span.name || "(no name)"),
    table("Span", "span-overview", [
      ["service", span.service],
      ["span id", span.id],
      ["parent", span.parentId ? `${span.parentId}${parent ? ` (${parent.name})` : " (not in this trace)"}` : "root"],
      ["kind", span.kind],
      ["status", status],
      ["start", `+${formatDuration(span.start)}`],
      ["duration", formatDuration(span.duration)],
    ]),
    table(`Attributes (${span.attributes.length})`, "span-attributes", span.attributes),
    section(`Events (${span.events.length})`, "span-events",
      span.events.map((event) => h("div", { class: "event" },
        h("div", { class: "event-head" }, h("b", {}, event.name), ` at +${formatDuration(event.time)}`),
        keyValues(event.attributes)))),
    section(`Links (${span.links.length})`, "span-links",
      span.links.map((link) => h("div", { class: "link" },
        h("a", { href: `#/trace/${link.traceId}` }, `trace ${link.traceId}`),
        ` span ${link.spanId}`,
        keyValues(link.attributes)))),
    table(`Resource (${span.resource.length})`, "span-resource", span.resource),
    table("Instrumentation scope", "span-scope", span.scope ? [["scope", span.scope]] : []),
  );
}

function section(title, name, children) {
  return h("section", { class: `detail-section ${name}` }, h("h4", {}, title),
    children.length ? children : h("p", { class: "muted" }, "none"));
}

function table(title, name, pairs) {
  return section(title, name, pairs.length ? [keyValues(pairs)] : []);
}

function keyValues(pairs) {
  if (!pairs.length) return null;
  return h("table", { class: "kv" }, h("tbody", {},
    pairs.map(([key, value]) => h("tr", {}, h("th", {}, key), h("td", {}, value)))));
}
