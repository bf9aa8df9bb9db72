// SPDX-License-Identifier: MIT
// Building blocks of the monitoring views, `TG.ui`: cards that show their own failure
// inline (one API down leaves the rest of the page working), and `render`, which brings
// a part of the page to a freshly built copy by changing only what differs. Redrawing
// by replacement every few seconds would lose the reader's focus, text selection and
// scroll position and make rows flicker; patching keeps every unchanged node in place.
'use strict';

(() => {
  const keyOf = (n) => (n.nodeType === 1 ? n.getAttribute('data-key') : null);
  const sameKind = (a, b) => a.nodeType === b.nodeType && a.nodeName === b.nodeName &&
                             a.namespaceURI === b.namespaceURI && keyOf(a) === keyOf(b);

  function patchNode(live, next) {
    if (live.nodeType !== 1) {
      if (live.nodeValue !== next.nodeValue) live.nodeValue = next.nodeValue;
      return;
    }
    // A <details> the reader opened stays open: `open` is the reader's, not the data's.
    for (const a of [...live.attributes])
      if (!next.hasAttribute(a.name) && !(a.name === 'open' && live.nodeName === 'DETAILS'))
        live.removeAttribute(a.name);
    for (const a of next.attributes)
      if (live.getAttribute(a.name) !== a.value) live.setAttribute(a.name, a.value);
    patchChildren(live, [...next.childNodes]);
  }

  // Children with a `data-key` are matched by key wherever they are (rows that change
  // order); the others by position. Listeners stay those of the node kept, so a
  // listener must not close over data that changes from one refresh to the next.
  function patchChildren(live, wanted) {
    const keyed = new Map();
    for (const c of live.childNodes) if (keyOf(c) !== null) keyed.set(keyOf(c), c);
    let cursor = live.firstChild;
    for (const n of wanted) {
      const k = keyOf(n);
      let match = null;
      if (k !== null) {
        match = keyed.get(k);
        if (match && !sameKind(match, n)) match = null;
        keyed.delete(k);
      } else if (cursor && sameKind(cursor, n)) {
        match = cursor;
      }
      if (!match) {
        live.insertBefore(n, cursor);
        continue;
      }
      if (match === cursor) cursor = cursor.nextSibling;
      else live.insertBefore(match, cursor);
      patchNode(match, n);
    }
    while (cursor) {
      const next = cursor.nextSibling;
      cursor.remove();
      cursor = next;
    }
  }

  // render(container, ...children): the container's content becomes `children` (built
  // with TG.el), reusing what is already there. Moving a row blurs a focused link in
  // it, so focus is given back when the element survived.
  function render(container, ...children) {
    const focused = document.activeElement;
    patchChildren(container, children.flat().filter((c) => c !== null && c !== undefined &&
                                                           c !== false)
      .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
    if (focused && focused !== document.activeElement && focused.isConnected &&
        container.contains(focused))
      focused.focus({preventScroll: true});
    return container;
  }

  // A titled card with a body and a one-line note for its own failure.
  function card(parent, title, attrs = {}) {
    const note = TG.el('p', {class: 'card-note', hidden: true, role: 'status'});
    const body = TG.el('div', {class: 'card-body'});
    const head = TG.el('div', {class: 'card-head'}, title ? TG.el('h2', {}, title) : null);
    const el = TG.el('section', {...attrs, class: `card ${attrs.class || ''}`.trim()},
                     head, note, body);
    parent.append(el);
    return {el, head, body, note};
  }

  function setNote(c, text, kind) {
    c.note.hidden = !text;
    if (c.note.textContent !== (text || '')) c.note.textContent = text || '';
    c.note.className = `card-note ${kind || ''}`.trim();
  }

  // Runs a card's loader; a failure is written in the card and returned, not thrown,
  // so the other cards of the view still refresh.
  async function load(c, fn) {
    try {
      await fn();
      setNote(c, '');
      return null;
    } catch (e) {
      setNote(c, `Could not load: ${reason(e)}`, 'bad');
      return e;
    }
  }

  // fetch() rejects with a bare TypeError ("Failed to fetch") when nothing answers.
  const reason = (e) => (e instanceof TypeError && !(e instanceof TG.ApiError)
    ? 'the gateway did not answer' : e.message);

  // Awaits each card's load; when some failed, throws one error naming how many, for the
  // header's status line (the details are in the cards).
  async function settle(loads) {
    const errors = (await Promise.all(loads)).filter(Boolean);
    if (errors.length)
      throw new Error(errors.length === 1 ? reason(errors[0])
                                          : `${errors.length} parts failed: ${reason(errors[0])}`);
  }

  const empty = (text) => TG.el('p', {class: 'muted empty'}, text);

  function badge(text, kind) {
    return TG.el('span', {class: `badge ${kind || ''}`.trim()}, text);
  }

  // A status word coloured by what it means for the reader.
  const KIND = {
    firing: 'bad', open: 'bad', down: 'bad', critical: 'bad', err: 'bad', half_open: 'warn',
    pending: 'warn', mitigated: 'warn', ejected: 'warn', warning: 'warn', unknown: 'warn',
    resolved: 'ok', closed: 'ok', up: 'ok', ok: 'ok', inactive: 'muted', off: 'muted',
    degraded: 'bad', 'not degraded': 'ok', helped: 'ok', worse: 'bad', no_effect: 'warn',
  };
  const state = (text) => badge(String(text), KIND[String(text).toLowerCase()] || '');

  // An incident's severity: SEV-1 in the colour of an outage, the others of a warning.
  const severity = (sev) => (sev ? badge(sev, sev === 'SEV-1' ? 'bad' : 'warn') : '–');

  // The endpoint view's address (the name percent-encoded: it holds slashes).
  const endpointHref = (endpoint, method) =>
    `#/endpoint/${encodeURIComponent(endpoint)}` +
    (method ? `?method=${encodeURIComponent(method)}` : '');

  // Label pairs as small chips, `skip` left out (alertname is the row's title already).
  function labels(obj, skip = []) {
    return TG.el('span', {class: 'chips'},
      Object.entries(obj || {}).filter(([k]) => !skip.includes(k))
        .map(([k, v]) => TG.el('span', {class: 'chip'}, `${k}=${v}`)));
  }

  // A definition list of [term, value] pairs; values may be nodes.
  function kv(pairs) {
    return TG.el('dl', {class: 'kv'}, pairs.filter(Boolean).flatMap(([k, v]) => [
      TG.el('dt', {}, k), TG.el('dd', {}, v === null || v === undefined || v === '' ? '–' : v)]));
  }

  // A table (inside a sideways-scrolling wrapper) from column heads and rows of cells;
  // a head or cell {text, num: true} is right-aligned, {text, class, title} styled. Rows
  // are {attrs, cells}; a `data-key` in attrs lets `render` keep the row in place.
  function table(heads, rows, attrs = {}) {
    const cell = (tag, c) => (c && typeof c === 'object' && !(c instanceof Node)
      ? TG.el(tag, {class: [c.num ? 'num' : null, c.class].filter(Boolean).join(' ') || null,
                    title: c.title || null}, c.text)
      : TG.el(tag, {}, c));
    return TG.el('div', {class: 'table-wrap'},
      TG.el('table', attrs,
        TG.el('thead', {}, TG.el('tr', {}, heads.map((h) => cell('th', h)))),
        TG.el('tbody', {}, rows.map((r) => TG.el('tr', r.attrs || {},
                                                 r.cells.map((c) => cell('td', c)))))));
  }

  // Fixed colours for the series every view shows, so p99 or 5xx look the same on
  // every chart; anything else takes the chart palette's next colour.
  const COLORS = {p50: '#17a398', p95: '#f3a712', p99: '#e4572e', total: '#2f7ed8',
                  '1xx': '#8e5ad6', '2xx': '#5c946e', '3xx': '#6c757d', '4xx': '#b08968',
                  '5xx': '#d6336c'};
  const color = (label) => COLORS[label] || null;

  TG.ui = {color, render, card, setNote, load, settle, reason, empty, badge, state, severity,
           endpointHref, labels, kv, table};
})();
