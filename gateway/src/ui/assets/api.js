// The gateway's HTTP API as the view uses it. Requests are same-origin, so the browser
// sends the credentials it holds for this port (basic auth) with each; a tenant typed
// into the header goes out as X-Scope-OrgID.

const TENANT_KEY = "spangate.tenant";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function tenant() {
  return localStorage.getItem(TENANT_KEY) || "";
}

export function setTenant(value) {
  if (value) localStorage.setItem(TENANT_KEY, value);
  else localStorage.removeItem(TENANT_KEY);
}

async function get(path, params = {}, accept = "application/json") {
  const query = new URLSearchParams(
    Object.entries(params).filter(([, value]) => value !== undefined && value !== ""),
  );
  // From the origin, never from the page's URL: a page opened with credentials in its
  // URL (user:password@host) would make every relative URL carry them, which fetch
  // refuses. The browser sends the credentials it cached for the origin.
  const url = `${location.origin}${path}${query.size ? `?${query}` : ""}`;
  const headers = { Accept: accept };
  if (tenant()) headers["X-Scope-OrgID"] = tenant();
  const response = await fetch(url, { headers, credentials: "same-origin" });
  if (!response.ok) {
    const text = (await response.text()).trim();
    throw new ApiError(response.status, `${response.status} ${text || response.statusText}`);
  }
  return accept === "application/json" ? response.json() : response.text();
}

const seconds = (date) => Math.floor(date / 1000);

/// `/api/search`: the traces matching `q` in the last `rangeSeconds`.
export function search(q, rangeSeconds, limit) {
  const end = Date.now();
  return get("/api/search", {
    q,
    start: seconds(end - rangeSeconds * 1000),
    end: seconds(end) + 1,
    limit,
    spss: 10,
  });
}

export function tagNames(scope) {
  return get("/api/v2/search/tags", { scope });
}

export function tagValues(tag, q) {
  return get(`/api/v2/search/tag/${encodeURIComponent(tag)}/values`, { q });
}

export function trace(id) {
  return get(`/api/v2/traces/${encodeURIComponent(id)}`);
}

/// `/api/metrics/query`: one value per series over the last `rangeSeconds`.
export function metricsInstant(q, rangeSeconds) {
  const end = seconds(Date.now()) + 1;
  return get("/api/metrics/query", { q, start: end - rangeSeconds, end });
}

export function prometheusText() {
  return get("/metrics", {}, "text/plain");
}
