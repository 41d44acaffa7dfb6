// The trace waterfall: one row per visible span, a bar on a shared time axis. Only the
// rows in (and just around) the viewport exist in the DOM; a pool of row elements is
// reused while scrolling, so a trace of 10,000 spans costs what 40 rows cost.

import { h, clear, formatDuration, serviceHue } from "./dom.js";
import { visibleRows } from "./trace.js";

export const ROW_HEIGHT = 26;
const OVERSCAN = 8;
const INDENT = 14;
const MAX_INDENT_DEPTH = 24;

export function createWaterfall(container, trace, onSelect) {
  const collapsed = new Set();
  let rows = trace.rows;
  let selectedId = null;
  const pool = [];

  const spacer = h("div", { class: "wf-spacer" });
  // The header scrolls with the rows (sticky on top), so both share the scrollbar's width.
  const header = h("div", { class: "wf-header" },
    h("div", { class: "wf-label" }, "Service and span"),
    h("div", { class: "wf-track" }, ticks(trace.duration)));
  const scroller = h("div", { class: "wf-scroll", tabIndex: 0 }, header, spacer);
  clear(container).append(scroller);

  function layout() {
    spacer.style.height = `${rows.length * ROW_HEIGHT}px`;
    render();
  }

  function render() {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const count = Math.ceil((scroller.clientHeight || 600) / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(rows.length, first + count);
    while (pool.length < last - first) pool.push(spacer.appendChild(rowElement()));
    for (let i = 0; i < pool.length; i++) {
      const index = first + i;
      const element = pool[i];
      if (index >= last) {
        element.hidden = true;
        continue;
      }
      element.hidden = false;
      fill(element, rows[index], index);
    }
  }

  function fill(element, span, index) {
    element.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    if (element.dataset.spanId === span.id && element.dataset.selected === String(span.id === selectedId)
        && element.dataset.collapsed === String(collapsed.has(span.id))) return;
    element.dataset.spanId = span.id;
    element.dataset.selected = String(span.id === selectedId);
    element.dataset.collapsed = String(collapsed.has(span.id));
    element.classList.toggle("selected", span.id === selectedId);
    element.classList.toggle("error", span.status === "error");
    const [label, track] = element.children;
    label.style.paddingLeft = `${Math.min(span.depth, MAX_INDENT_DEPTH) * INDENT + 4}px`;
    const [toggle, service, name] = label.children;
    toggle.textContent = span.children.length ? (collapsed.has(span.id) ? "▸" : "▾") : "";
    toggle.disabled = !span.children.length;
    service.textContent = span.service;
    service.style.setProperty("--hue", serviceHue(span.service));
    name.textContent = span.name;
    label.title = `${span.service}: ${span.name} (depth ${span.depth})`;
    const [bar, duration] = track.children;
    const total = trace.duration || 1;
    const left = (span.start / total) * 100;
    bar.style.left = `${left}%`;
    bar.style.width = `${Math.max((span.duration / total) * 100, 0.2)}%`;
    bar.style.setProperty("--hue", serviceHue(span.service));
    duration.textContent = formatDuration(span.duration);
    // Right of the bar; near the right edge, inside a wide bar's end or left of a narrow one.
    const width = (span.duration / total) * 100;
    const end = left + width;
    const place = end <= 88 ? "after" : width >= 12 ? "inside" : "before";
    duration.dataset.place = place;
    duration.style.left = place === "after" ? `${end}%` : "";
    duration.style.right = place === "inside" ? `${100 - end}%` : place === "before" ? `${100 - left}%` : "";
  }

  function rowElement() {
    return h("div", { class: "wf-row", role: "row" },
      h("div", { class: "wf-label" },
        h("button", { class: "wf-toggle", type: "button", "aria-label": "collapse or expand" }),
        h("span", { class: "wf-service" }),
        h("span", { class: "wf-name" })),
      h("div", { class: "wf-track" }, h("div", { class: "wf-bar" }), h("span", { class: "wf-duration" })));
  }

  spacer.addEventListener("click", (event) => {
    const row = event.target.closest(".wf-row");
    if (!row) return;
    const span = trace.byId.get(row.dataset.spanId);
    if (!span) return;
    if (event.target.closest(".wf-toggle")) {
      if (collapsed.has(span.id)) collapsed.delete(span.id);
      else collapsed.add(span.id);
      rows = visibleRows(trace.rows, collapsed);
      layout();
      return;
    }
    select(span.id);
    onSelect(span);
  });

  let pending = false;
  scroller.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  }, { passive: true });

  function select(id) {
    selectedId = id;
    render();
  }

  layout();
  return {
    select,
    scroller,
    /// Scrolls so that the span's row is in view (expanding nothing).
    reveal(id) {
      const index = rows.findIndex((span) => span.id === id);
      if (index >= 0) scroller.scrollTop = Math.max(0, (index - 3) * ROW_HEIGHT);
      render();
    },
  };
}

function ticks(duration) {
  return [0, 0.25, 0.5, 0.75].map((fraction) => {
    const tick = h("span", { class: "wf-tick" }, formatDuration(duration * fraction));
    tick.style.left = `${fraction * 100}%`;
    return tick;
  });
}
