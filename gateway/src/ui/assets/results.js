// The search results: one row per trace, newest first as the API answers, linking to
// the trace's waterfall.

import { h, clear, formatDuration, formatTime, serviceHue } from "./dom.js";
import { fullTraceId } from "./trace.js";

/// Spans that matched the query in one result (every span set's `matched`).
export function matchedSpans(trace) {
  const sets = trace.spanSets || (trace.spanSet ? [trace.spanSet] : []);
  return sets.reduce((sum, set) => sum + (set.matched || 0), 0);
}

export function showResults(container, answer, onOpen) {
  const traces = answer.traces || [];
  const inspected = answer.metrics?.inspectedTraces;
  const summary = `${traces.length} trace${traces.length === 1 ? "" : "s"}` +
    (inspected ? `, ${inspected} inspected` : "");
  if (!traces.length) {
    clear(container).append(h("p", { class: "muted", id: "results-summary" }, `${summary}: nothing matched.`));
    return;
  }
  const rows = traces.map((trace) => {
    const service = trace.rootServiceName || "<root span not yet received>";
    const id = fullTraceId(trace.traceID);
    const row = h("tr", { class: "result-row", dataset: { traceId: id }, tabIndex: 0 },
      h("td", { class: "root-service" }, h("span", { class: "service-dot" }), service),
      h("td", { class: "root-name" }, trace.rootTraceName || ""),
      h("td", { class: "start" }, formatTime(trace.startTimeUnixNano)),
      h("td", { class: "duration num" }, formatDuration((trace.durationMs || 0) * 1e6)),
      h("td", { class: "matched num" }, String(matchedSpans(trace))),
      h("td", { class: "trace-id mono" }, h("a", { href: `#/trace/${id}` }, id.slice(0, 16))));
    row.querySelector(".service-dot").style.setProperty("--hue", serviceHue(service));
    row.addEventListener("click", (event) => {
      if (!event.target.closest("a")) onOpen(id);
    });
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") onOpen(id);
    });
    return row;
  });
  clear(container).append(
    h("p", { class: "muted", id: "results-summary" }, summary),
    h("table", { class: "results", id: "results-table" },
      h("thead", {}, h("tr", {},
        h("th", {}, "Root service"), h("th", {}, "Root name"), h("th", {}, "Start"),
        h("th", { class: "num" }, "Duration"), h("th", { class: "num" }, "Matched spans"),
        h("th", {}, "Trace"))),
      h("tbody", {}, rows)));
}
