// The view's wiring: hash routes (#/search?q=…, #/trace/<id>, #/services), the search
// form, the theme toggle, the tenant field, and errors shown in one banner.

import { h, clear, formatDuration, formatTime } from "./dom.js";
import * as api from "./api.js";
import { attachCompletion } from "./complete.js";
import { showResults } from "./results.js";
import { fullTraceId, parseTrace } from "./trace.js";
import { createWaterfall } from "./waterfall.js";
import { showSpan } from "./details.js";
import { showServices } from "./services.js";

const $ = (id) => document.getElementById(id);
const views = ["search-view", "trace-view", "services-view"];
const SERVICES_REFRESH_MILLIS = 10000;
/// The span-metrics rates need a second read of /metrics: the first comes this soon.
const FIRST_RATE_MILLIS = 2000;
const servicesState = {};
let servicesTimer = null;

function showView(id) {
  for (const view of views) $(view).hidden = view !== id;
  $("tab-search").classList.toggle("active", id !== "services-view");
  $("tab-services").classList.toggle("active", id === "services-view");
  if (id !== "services-view") {
    clearTimeout(servicesTimer);
    servicesTimer = null;
  }
}

function showError(error) {
  const banner = $("error");
  if (!error) {
    banner.hidden = true;
    return;
  }
  let hint = "";
  if (error.status === 401 && /org id/.test(error.message)) hint = " Multi-tenancy is on: enter a tenant at the top right.";
  banner.textContent = `${error.message}${hint}`;
  banner.hidden = false;
}

function rangeSeconds() {
  return Number($("range").value) || 3600;
}

async function runSearch(params) {
  const q = params.get("q") || "{}";
  $("query").value = q;
  if (params.get("range")) $("range").value = params.get("range");
  if (params.get("limit")) $("limit").value = params.get("limit");
  showView("search-view");
  clear($("results")).append(h("p", { class: "muted" }, "Searching…"));
  try {
    const answer = await api.search(q, rangeSeconds(), Number($("limit").value) || 20);
    showError(null);
    showResults($("results"), answer, (id) => { location.hash = `#/trace/${id}`; });
  } catch (error) {
    clear($("results"));
    showError(error);
  }
}

async function openTrace(typedId) {
  const id = fullTraceId(typedId);
  showView("trace-view");
  const header = $("trace-header");
  clear(header).append(h("p", { class: "muted" }, `Loading trace ${id}…`));
  clear($("waterfall"));
  clear($("span-details")).append(h("p", { class: "muted" }, "Select a span to see its attributes, events and links."));
  performance.clearMarks();
  performance.mark("trace-fetch-start");
  let trace;
  try {
    const answer = await api.trace(id);
    performance.mark("trace-fetched");
    trace = parseTrace(answer);
    performance.mark("trace-parsed");
    showError(null);
  } catch (error) {
    clear(header);
    showError(error);
    return;
  }
  const root = trace.rows[0];
  const errors = trace.spans.filter((span) => span.status === "error").length;
  clear(header).append(
    h("a", { href: "#/", class: "back", onclick: (event) => {
      if (history.length > 1) {
        event.preventDefault();
        history.back();
      }
    } }, "← results"),
    h("h2", { id: "trace-title" }, root ? `${root.service}: ${root.name}` : "empty trace"),
    h("p", { class: "trace-facts" },
      h("span", { class: "mono", id: "trace-id" }, id), " · ",
      root ? formatTime(trace.start) : "", " · ",
      h("span", { id: "trace-duration" }, formatDuration(trace.duration)), " · ",
      h("span", { id: "trace-span-count" }, `${trace.spans.length} spans`), " · ",
      `${trace.services.length} services`,
      errors ? h("span", { class: "badge error" }, `${errors} errors`) : null,
      trace.partial ? h("span", { class: "badge" }, "partial: larger than query.max_bytes_per_trace") : null));
  const waterfall = createWaterfall($("waterfall"), trace, (span) => showSpan($("span-details"), span, trace));
  requestAnimationFrame(() => {
    performance.mark("trace-rendered");
    performance.measure("trace-view", "trace-fetch-start", "trace-rendered");
    document.body.dataset.trace = id;
  });
  return waterfall;
}

async function openServices() {
  showView("services-view");
  clearTimeout(servicesTimer);
  let delay = SERVICES_REFRESH_MILLIS;
  try {
    const shown = await showServices($("services"), rangeSeconds(), servicesState);
    if (shown.awaitingRates) delay = FIRST_RATE_MILLIS;
    showError(null);
  } catch (error) {
    showError(error);
  }
  if (!$("services-view").hidden) servicesTimer = setTimeout(openServices, delay);
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  if (path.startsWith("/trace/")) return openTrace(decodeURIComponent(path.slice("/trace/".length)));
  if (path === "/services") return openServices();
  const params = new URLSearchParams(query);
  if (path === "/search" && params.has("q")) return runSearch(params);
  showView("search-view");
}

function setUpTheme() {
  $("theme-toggle").addEventListener("click", () => {
    const root = document.documentElement;
    const dark = root.dataset.theme
      ? root.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("spangate.theme", root.dataset.theme);
  });
}

function setUpSearch() {
  attachCompletion($("query"), $("suggestions"));
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ q: $("query").value.trim() || "{}", range: $("range").value, limit: $("limit").value });
    const target = `#/search?${params}`;
    if (location.hash === target) route();
    else location.hash = target;
  });
  $("tenant").value = api.tenant();
  $("tenant").addEventListener("change", () => {
    api.setTenant($("tenant").value.trim());
    route();
  });
}

setUpTheme();
setUpSearch();
window.addEventListener("hashchange", route);
route();
