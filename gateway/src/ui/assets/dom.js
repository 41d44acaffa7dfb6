// Small DOM helpers: elements built from code (never from HTML strings, so no value
// read from a trace can inject markup), and number / time formatting.

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  append(node, children);
  return node;
}

/// Nanoseconds as the shortest readable duration: 850µs, 12.3ms, 1.25s, 2m 3s.
export function formatDuration(nanos) {
  if (!Number.isFinite(nanos)) return "–";
  const abs = Math.abs(nanos);
  if (abs < 1e3) return `${Math.round(nanos)}ns`;
  if (abs < 1e6) return `${trim(nanos / 1e3)}µs`;
  if (abs < 1e9) return `${trim(nanos / 1e6)}ms`;
  if (abs < 60e9) return `${trim(nanos / 1e9)}s`;
  const minutes = Math.floor(nanos / 60e9);
  return `${minutes}m ${Math.round((nanos - minutes * 60e9) / 1e9)}s`;
}

function trim(value) {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/// Unix nanoseconds (a number or decimal string) as local date and time.
export function formatTime(nanos) {
  const millis = Number(BigInt(nanos || 0) / 1000000n);
  const date = new Date(millis);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.` +
    `${pad(date.getMilliseconds(), 3)}`;
}

export function formatNumber(value, digits = 2) {
  if (!Number.isFinite(value)) return "–";
  if (value === 0) return "0";
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return value.toFixed(digits);
}

/// A stable hue for a service name, so one service has one colour everywhere.
export function serviceHue(name) {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619);
  return (hash >>> 0) % 360;
}
