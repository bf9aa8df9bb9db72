// SPDX-License-Identifier: MIT
// The dashboard's shared toolkit, the one global `TG`: building DOM (text only, never
// HTML strings, so a label or an endpoint name can never become markup), calling the
// admin API and the Prometheus HTTP API, the bearer token for control calls, the
// selected time range, number formats, and the registry of views main.js routes to.
'use strict';

const TG = (() => {
  const views = new Map();

  // el('tr', {class: 'x', 'data-endpoint': name, on: {click: fn}}, 'text', child, ...)
  function el(tag, attrs, ...children) {
    const svg = tag.startsWith('svg:');
    const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
                     : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function clear(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
    return node;
  }

  class ApiError extends Error {
    constructor(status, message, field) {
      super(message);
      this.status = status;
      this.field = field;
    }
  }

  async function parse(res) {
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (!res.ok) {
      const msg = (json && (json.error || json.message)) || text.trim() || res.statusText;
      throw new ApiError(res.status, `${res.status}: ${msg}`, json && json.field);
    }
    return json;
  }

  // GET a JSON answer of the admin API.
  async function api(path) {
    return parse(await fetch(path, {headers: {Accept: 'application/json'}, cache: 'no-store'}));
  }

  function token() { return localStorage.getItem('tg.token') || ''; }
  function setToken(t) {
    if (t) localStorage.setItem('tg.token', t);
    else localStorage.removeItem('tg.token');
  }

  // A mutating call (POST/PUT/DELETE) with the bearer token when one is set. Resolves to
  // the JSON answer; rejects with an ApiError (status, message, field) otherwise.
  async function send(method, path, body) {
    const headers = {Accept: 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token()) headers.Authorization = `Bearer ${token()}`;
    return parse(await fetch(path, {
      method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    }));
  }

  // The Prometheus HTTP API (POST form bodies, as Prometheus's own UI sends long queries).
  async function promCall(path, params) {
    const res = await fetch(path, {
      method: 'POST', cache: 'no-store',
      headers: {'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json'},
      body: new URLSearchParams(params).toString(),
    });
    const json = await parse(res);
    if (!json || json.status !== 'success')
      throw new ApiError(res.status, (json && json.error) || 'query failed', null);
    return json.data;
  }
  const prom = {
    query: (expr, time) => promCall('/api/v1/query', time === undefined ? {query: expr}
                                                                         : {query: expr, time}),
    range: (expr, start, end, step) =>
      promCall('/api/v1/query_range', {query: expr, start, end, step}),
  };

  // The range picker: `seconds` back from now, or the whole retention ('all', read from
  // the store's own flags once).
  const state = {range: '900', retentionS: null, paused: false};
  async function retention() {
    if (state.retentionS === null) {
      try {
        const f = await api('/api/v1/status/flags');
        state.retentionS = parseDuration((f.data || {})['storage.tsdb.retention.time']) || 86400;
      } catch (e) {
        state.retentionS = 86400;
      }
    }
    return state.retentionS;
  }
  // {start, end, step} in seconds for the picker's range, about `points` points wide.
  async function range(points = 240) {
    const span = state.range === 'all' ? await retention() : Number(state.range);
    const end = Date.now() / 1000;
    const step = Math.max(1, Math.ceil(span / points));
    return {start: end - span, end, step};
  }

  function parseDuration(s) {
    if (!s) return null;
    const units = {ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000};
    let total = 0;
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
    let m;
    let matched = '';
    while ((m = re.exec(s)) !== null) { total += Number(m[1]) * units[m[2]]; matched += m[0]; }
    return matched === s ? total : null;
  }

  const num = (x) => x !== null && x !== undefined && x !== '' && Number.isFinite(Number(x));
  const fmt = {
    ms: (x) => !num(x) ? '–' : Number(x) >= 1000 ? `${(x / 1000).toFixed(2)} s`
                             : Number(x) >= 10 ? `${Math.round(x)} ms` : `${Number(x).toFixed(1)} ms`,
    rate: (x) => !num(x) ? '–' : Number(x) >= 100 ? `${Math.round(x)}/s` : `${Number(x).toFixed(1)}/s`,
    pct: (x) => !num(x) ? '–' : `${(Number(x) * 100).toFixed(Number(x) < 0.1 ? 2 : 1)}%`,
    num: (x) => !num(x) ? '–' : Number(x).toLocaleString('en-US', {maximumFractionDigits: 2}),
    time: (sec) => !num(sec) ? '–' : new Date(Number(sec) * 1000).toLocaleTimeString(),
    date: (v) => {
      if (v === null || v === undefined || v === '') return '–';
      const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
      return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
    },
    age: (v) => {
      const t = typeof v === 'number' ? v * 1000 : Date.parse(v);
      if (!Number.isFinite(t)) return '–';
      const s = Math.max(0, Math.round((Date.now() - t) / 1000));
      return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
    },
  };

  // A short message in the corner; errors stay until dismissed, others fade.
  function notify(message, kind = 'info') {
    const box = document.getElementById('toasts');
    const t = el('div', {class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status'},
                 el('span', {}, message),
                 el('button', {type: 'button', 'aria-label': 'Dismiss',
                               on: {click: () => t.remove()}}, '×'));
    box.append(t);
    if (kind !== 'error') setTimeout(() => t.remove(), 4000);
  }

  // view(name, {title, nav, mount(root, params) -> {update(), unmount()}}): `nav: false`
  // keeps a view out of the header (a detail page reached by a link).
  function view(name, def) { views.set(name, def); }

  return {el, clear, api, send, prom, token, setToken, range, parseDuration, fmt, notify,
          view, views, state, ApiError, charts: {}};
})();
