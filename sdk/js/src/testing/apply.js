// A processor's edit records applied to test spans, with the host's checks: every edit
// must address a row, span or event of the batch the plugin was given and a field it
// declared (attribute edits, adding included, need that kind of attribute selected), no
// row may be both set and removed, and the records must be well formed (known op and
// value kind, references inside `strings`, UTF-8). Any bad edit fails the whole answer
// (nothing is applied), as in the host. Mirrors the Rust SDK's testing/apply.rs.

import { EDIT_RECORD_BYTES, Op, OP_NAMES, VALUE_KIND_NAMES, decodeEditRecords } from '../abi.js';
import { decodeValue, hasValue } from '../edits.js';
import { SpanFields } from '../needs.js';
import { encode } from './encode.js';

/** An answer the host would refuse. */
export class EditError extends Error {
  constructor(message) {
    super(message);
    this.name = 'EditError';
  }
}

const fatal = new TextDecoder('utf-8', { fatal: true });

/** Decodes and checks the form of each record: `{ op, target, key?, value? }`. */
function decodeChecked(edits) {
  if (edits.records.length % EDIT_RECORD_BYTES !== 0) {
    throw new EditError(`the edit records are ${edits.records.length} bytes, not a multiple of ${EDIT_RECORD_BYTES}`);
  }
  const text = (position, offset, length, what) => {
    if (offset + length > edits.strings.length) {
      throw new EditError(`edit ${position}: its ${what} (${offset}+${length}) lies outside the ${edits.strings.length}-byte strings`);
    }
    try {
      return fatal.decode(edits.strings.subarray(offset, offset + length));
    } catch {
      throw new EditError(`edit ${position}: its ${what} is not UTF-8`);
    }
  };
  return decodeEditRecords(edits.records).map((record, position) => {
    if (OP_NAMES[record.op] === undefined) {
      throw new EditError(`edit ${position}: unknown op ${record.op}`);
    }
    const edit = { op: record.op, target: record.target };
    if (record.op === Op.ADD_SPAN_ATTRIBUTE) {
      edit.key = text(position, record.keyOffset, record.keyLength, 'key');
    }
    if (hasValue(record.op)) {
      // The host's words (gateway/src/plugin/edits.rs).
      const refuse = (problem) => new EditError(`edit ${position} (${OP_NAMES[record.op]}): ${problem}`);
      const textual = record.op === Op.SET_NAME || record.op === Op.SET_STATUS_MESSAGE || record.op === Op.SET_EVENT_NAME;
      const kind = VALUE_KIND_NAMES[record.kind];
      if (kind === undefined) {
        throw refuse(`unknown value kind ${record.kind}`);
      }
      if (kind === 'json') {
        throw refuse('its value kind is json (4), which an edit cannot set');
      }
      if (textual && kind !== 'str') {
        throw refuse(`its value kind is ${record.kind}, but a rename takes a str (0)`);
      }
      edit.value = decodeValue(record, (offset, length, what) => text(position, offset, length, what));
    }
    return edit;
  });
}

/** The WIT name of an edit and its index, as error messages show it. */
function describeEdit(edit) {
  const name = OP_NAMES[edit.op];
  switch (edit.op) {
    case Op.ADD_SPAN_ATTRIBUTE:
      return `${name} span ${edit.target} key ${JSON.stringify(edit.key)}`;
    case Op.SET_NAME:
    case Op.SET_STATUS_MESSAGE:
    case Op.DROP_SPAN:
      return `${name} span ${edit.target}`;
    case Op.SET_EVENT_NAME:
      return `${name} event ${edit.target}`;
    default:
      return `${name} row ${edit.target}`;
  }
}

/** [table, isRemoval] of an attribute edit, or null. */
function attributeTarget(op) {
  switch (op) {
    case Op.SET_SPAN_ATTRIBUTE:
      return ['span', false];
    case Op.REMOVE_SPAN_ATTRIBUTE:
      return ['span', true];
    case Op.SET_RESOURCE_ATTRIBUTE:
      return ['resource', false];
    case Op.REMOVE_RESOURCE_ATTRIBUTE:
      return ['resource', true];
    case Op.SET_EVENT_ATTRIBUTE:
      return ['event', false];
    case Op.REMOVE_EVENT_ATTRIBUTE:
      return ['event', true];
    case Op.SET_LINK_ATTRIBUTE:
      return ['link', false];
    case Op.REMOVE_LINK_ATTRIBUTE:
      return ['link', true];
    default:
      return null;
  }
}

function check(encoding, spanCount, needs, edit) {
  const inRange = (index, count, what) => {
    if (index >= count) {
      throw `out of range: the batch has ${count} ${what}`;
    }
  };
  const declared = (bit, name) => {
    if ((needs.spanFields & bit) === 0) {
      throw `field \`${name}\` was not declared in needs`;
    }
  };
  const selected = (selection, noun) => {
    if (selection.isNone) {
      throw `no ${noun} attributes were declared in needs`;
    }
  };
  switch (edit.op) {
    case Op.SET_SPAN_ATTRIBUTE:
    case Op.REMOVE_SPAN_ATTRIBUTE:
      selected(needs.spanAttributeSelection, 'span');
      return inRange(edit.target, encoding.spanRows.length, 'span attribute rows');
    case Op.SET_RESOURCE_ATTRIBUTE:
    case Op.REMOVE_RESOURCE_ATTRIBUTE:
      selected(needs.resourceAttributeSelection, 'resource');
      return inRange(edit.target, encoding.resourceRows.length, 'resource attribute rows');
    case Op.SET_EVENT_ATTRIBUTE:
    case Op.REMOVE_EVENT_ATTRIBUTE:
      selected(needs.eventAttributeSelection, 'event');
      return inRange(edit.target, encoding.eventRows.length, 'event attribute rows');
    case Op.SET_LINK_ATTRIBUTE:
    case Op.REMOVE_LINK_ATTRIBUTE:
      selected(needs.linkAttributeSelection, 'link');
      return inRange(edit.target, encoding.linkRows.length, 'link attribute rows');
    case Op.ADD_SPAN_ATTRIBUTE:
      // As in the host: adding needs some span-attribute selection (a plugin that adds
      // `slow` can select just `keys(['slow'])`, or `keys([])`).
      selected(needs.spanAttributeSelection, 'span');
      inRange(edit.target, spanCount, 'spans');
      if (edit.key === '') {
        throw 'empty attribute key';
      }
      return undefined;
    case Op.SET_NAME:
      declared(SpanFields.NAME, 'name');
      return inRange(edit.target, spanCount, 'spans');
    case Op.SET_STATUS_MESSAGE:
      declared(SpanFields.STATUS_MESSAGE, 'status-message');
      return inRange(edit.target, spanCount, 'spans');
    case Op.SET_EVENT_NAME:
      declared(SpanFields.EVENT_NAMES, 'event-names');
      return inRange(edit.target, encoding.events.length, 'events');
    default:
      return inRange(edit.target, spanCount, 'spans');
  }
}

/**
 * The spans after the edits (the WIT `edits` record a processor answered with), dropped
 * spans removed; or an `EditError` naming the first bad edit by position and content,
 * e.g. `edit 0 (set-name span 3): out of range: the batch has 3 spans`.
 * @param {import('./span.js').TestSpan[]} spans
 * @param {import('../needs.js').Needs} needs
 * @param {{records: Uint8Array, strings: Uint8Array}} edits
 * @returns {import('./span.js').TestSpan[]}
 */
export function applyEdits(spans, needs, edits) {
  const encoding = encode(spans, needs);
  const decoded = decodeChecked(edits);

  const removed = new Set();
  for (const edit of decoded) {
    const target = attributeTarget(edit.op);
    if (target !== null && target[1]) {
      removed.add(`${target[0]}:${edit.target}`);
    }
  }
  decoded.forEach((edit, position) => {
    const target = attributeTarget(edit.op);
    if (target !== null && !target[1] && removed.has(`${target[0]}:${edit.target}`)) {
      throw new EditError(
        `edit ${position} (${describeEdit(edit)}): ${target[0]} attribute row ${edit.target} is both set and removed`,
      );
    }
  });
  decoded.forEach((edit, position) => {
    try {
      check(encoding, spans.length, needs, edit);
    } catch (problem) {
      throw new EditError(`edit ${position} (${describeEdit(edit)}): ${problem}`);
    }
  });
  return apply(encoding, spans, decoded);
}

/**
 * Applies checked edits: values first (addressed by the original positions), then
 * removals, then additions (so positions stay valid), then drops.
 */
function apply(encoding, spans, edits) {
  const out = spans.map((span) => span.clone());
  const removedSpan = new Set();
  const removedResource = new Set();
  const removedEvent = new Set();
  const removedLink = new Set();
  const added = [];
  const dropped = new Set();

  for (const edit of edits) {
    const row = edit.target;
    switch (edit.op) {
      case Op.SET_SPAN_ATTRIBUTE: {
        const [span, attribute] = encoding.spanRows[row];
        out[span].attributes[attribute][1] = edit.value;
        break;
      }
      case Op.REMOVE_SPAN_ATTRIBUTE:
        removedSpan.add(encoding.spanRows[row].join(':'));
        break;
      case Op.SET_RESOURCE_ATTRIBUTE: {
        const [resource, attribute] = encoding.resourceRows[row];
        for (const span of encoding.resourceSpans[resource]) {
          out[span].resourceAttributes[attribute][1] = edit.value;
        }
        break;
      }
      case Op.REMOVE_RESOURCE_ATTRIBUTE: {
        const [resource, attribute] = encoding.resourceRows[row];
        for (const span of encoding.resourceSpans[resource]) {
          removedResource.add(`${span}:${attribute}`);
        }
        break;
      }
      case Op.SET_EVENT_ATTRIBUTE: {
        const [event, attribute] = encoding.eventRows[row];
        const [span, index] = encoding.events[event];
        out[span].events[index].attributes[attribute][1] = edit.value;
        break;
      }
      case Op.REMOVE_EVENT_ATTRIBUTE: {
        const [event, attribute] = encoding.eventRows[row];
        const [span, index] = encoding.events[event];
        removedEvent.add(`${span}:${index}:${attribute}`);
        break;
      }
      case Op.SET_LINK_ATTRIBUTE: {
        const [link, attribute] = encoding.linkRows[row];
        const [span, index] = encoding.links[link];
        out[span].links[index].attributes[attribute][1] = edit.value;
        break;
      }
      case Op.REMOVE_LINK_ATTRIBUTE: {
        const [link, attribute] = encoding.linkRows[row];
        const [span, index] = encoding.links[link];
        removedLink.add(`${span}:${index}:${attribute}`);
        break;
      }
      case Op.ADD_SPAN_ATTRIBUTE:
        added.push([edit.target, edit.key, edit.value]);
        break;
      case Op.SET_NAME:
        out[edit.target].name = edit.value.value;
        break;
      case Op.SET_STATUS_MESSAGE:
        out[edit.target].statusMessage = edit.value.value;
        break;
      case Op.SET_EVENT_NAME: {
        const [span, index] = encoding.events[edit.target];
        out[span].events[index].name = edit.value.value;
        break;
      }
      default:
        dropped.add(edit.target);
    }
  }

  out.forEach((span, s) => {
    span.attributes = span.attributes.filter((_, i) => !removedSpan.has(`${s}:${i}`));
    span.resourceAttributes = span.resourceAttributes.filter((_, i) => !removedResource.has(`${s}:${i}`));
    span.events.forEach((event, e) => {
      event.attributes = event.attributes.filter((_, i) => !removedEvent.has(`${s}:${e}:${i}`));
    });
    span.links.forEach((link, l) => {
      link.attributes = link.attributes.filter((_, i) => !removedLink.has(`${s}:${l}:${i}`));
    });
  });
  // An added key the span already has replaces its value, as in the host.
  for (const [span, key, value] of added) {
    const attributes = out[span].attributes;
    const existing = attributes.find(([k]) => k === key);
    if (existing !== undefined) {
      existing[1] = value;
    } else {
      attributes.push([key, value]);
    }
  }
  return out.filter((_, index) => !dropped.has(index));
}

/**
 * The spans head-sampling decisions keep, as the host applies them: one decision per
 * span, in order; a dropped span is removed. An answer of another length is refused.
 * @param {import('./span.js').TestSpan[]} spans
 * @param {import('../export.js').Decision[]} decisions
 */
export function applyDecisions(spans, decisions) {
  if (decisions.length !== spans.length) {
    throw new EditError(`${decisions.length} decisions for a batch of ${spans.length} spans`);
  }
  return spans.filter((_, index) => decisions[index].keep).map((span) => span.clone());
}
