// TraceQL autocompletion for the search box: inside `{ }`, tag names where a condition
// starts (from /api/v2/search/tags), and a tag's values after a comparison operator
// (from /api/v2/search/tag/<tag>/values), filtered by what is typed so far.

import { h, clear } from "./dom.js";
import * as api from "./api.js";

const MAX_SHOWN = 50;
const CACHE_MILLIS = 30000;
const VALUE_CONTEXT = /([A-Za-z_][\w.:\-]*)\s*(=|!=|=~|!~|>=|<=|>|<)\s*("?)([^"\s&|}]*)$/;
const TAG_CONTEXT = /(?:^|[({&|!])\s*([A-Za-z_.][\w.:\-]*)?$/;

/// What the caret is in: `{kind: "tag", prefix}`, `{kind: "value", tag, prefix,
/// quoted}`, or null (outside braces, or inside a string that is not a value).
export function completionContext(textBeforeCaret) {
  let depth = 0;
  let inString = false;
  let lastOpen = -1;
  for (let i = 0; i < textBeforeCaret.length; i++) {
    const c = textBeforeCaret[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") {
      depth++;
      lastOpen = i;
    } else if (c === "}") depth = Math.max(0, depth - 1);
  }
  if (depth === 0) return null;
  const inside = textBeforeCaret.slice(lastOpen + 1);
  const value = VALUE_CONTEXT.exec(inside);
  if (value) return { kind: "value", tag: value[1], prefix: value[4], quoted: value[3] === '"' };
  if (inString) return null;
  const tag = TAG_CONTEXT.exec(inside);
  if (tag) return { kind: "tag", prefix: tag[1] || "" };
  return null;
}

/// Full TraceQL names from a v2 tags answer: `resource.service.name`, `span.http.method`,
/// and intrinsics as they are (`name`, `status`, `duration`...).
export function tagNamesOf(answer) {
  const names = [];
  for (const scope of answer.scopes || []) {
    for (const tag of scope.tags || []) {
      names.push(scope.name === "intrinsic" ? tag : `${scope.name}.${tag}`);
    }
  }
  return [...new Set(names)];
}

/// A value as TraceQL text: strings quoted, keywords and numbers bare.
export function valueText(tagValue) {
  if (tagValue.type === "string") return JSON.stringify(tagValue.value);
  return String(tagValue.value);
}

function rank(candidates, prefix) {
  const lower = prefix.toLowerCase();
  const starts = [];
  const contains = [];
  for (const candidate of candidates) {
    const text = candidate.label.toLowerCase();
    if (text.startsWith(lower)) starts.push(candidate);
    else if (lower && text.includes(lower)) contains.push(candidate);
  }
  return starts.concat(contains).slice(0, MAX_SHOWN);
}

export function attachCompletion(input, list) {
  const cache = new Map();
  let items = [];
  let active = -1;
  let context = null;
  let sequence = 0;

  function cached(key, load) {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_MILLIS) return hit.value;
    const value = load().catch((error) => {
      cache.delete(key);
      throw error;
    });
    cache.set(key, { at: Date.now(), value });
    return value;
  }

  async function candidates(ctx) {
    if (ctx.kind === "tag") {
      const names = tagNamesOf(await cached("tags", () => api.tagNames()));
      return names.map((name) => ({ label: name, insert: name }));
    }
    const answer = await cached(`values:${ctx.tag}`, () => api.tagValues(ctx.tag));
    return (answer.tagValues || []).map((value) => ({
      label: String(value.value),
      insert: valueText(value),
      type: value.type,
    }));
  }

  async function update() {
    const caret = input.selectionStart ?? input.value.length;
    context = completionContext(input.value.slice(0, caret));
    const mine = ++sequence;
    if (!context) return close();
    let found;
    try {
      found = await candidates(context);
    } catch (error) {
      if (mine === sequence) showMessage(`no suggestions: ${error.message}`);
      return;
    }
    if (mine !== sequence) return;
    items = rank(found, context.prefix);
    active = items.length ? 0 : -1;
    render();
  }

  function showMessage(text) {
    items = [];
    clear(list).append(h("li", { class: "muted" }, text));
    list.hidden = false;
  }

  function render() {
    if (!items.length) return close();
    clear(list).append(...items.map((item, index) => h("li", {
      role: "option",
      class: index === active ? "active" : "",
      "aria-selected": String(index === active),
      dataset: { insert: item.insert },
      onmousedown: (event) => {
        event.preventDefault();
        accept(index);
      },
    }, item.label, item.type ? h("span", { class: "muted" }, ` ${item.type}`) : null)));
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function close() {
    items = [];
    active = -1;
    list.hidden = true;
    clear(list);
    input.setAttribute("aria-expanded", "false");
  }

  function accept(index) {
    const item = items[index];
    if (!item || !context) return;
    const caret = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, caret);
    const typed = context.kind === "value" ? (context.quoted ? 1 : 0) + context.prefix.length : context.prefix.length;
    let after = input.value.slice(caret);
    // A closing quote the user already has belongs to the replaced value.
    if (context.kind === "value" && context.quoted && after.startsWith('"')) after = after.slice(1);
    const insert = context.kind === "value" ? `${item.insert} ` : item.insert;
    input.value = before.slice(0, before.length - typed) + insert + after;
    const position = caret - typed + insert.length;
    input.setSelectionRange(position, position);
    close();
    input.focus();
  }

  input.addEventListener("input", update);
  input.addEventListener("focus", update);
  // Later than a click on a suggestion, and not when the box has the focus again.
  input.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement !== input) close();
  }, 100));
  input.addEventListener("keydown", (event) => {
    if (list.hidden || !items.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      render();
    } else if (event.key === "Tab" || (event.key === "Enter" && active >= 0)) {
      event.preventDefault();
      accept(active);
    } else if (event.key === "Escape") {
      close();
    }
  });
  return { close };
}
