// SPDX-License-Identifier: MIT
// The endpoints table: the runbooks' `endpoints/stats | sort_by(.avg_latency_ms)` as a
// page. One row per endpoint and method from the monitoring API's sliding window, with
// a p95 sparkline over the picker's range (one range query grouped by endpoint and
// method for the whole table), sortable by any column (slowest p95 first by default) and
// filtered by a substring; sort, filter and window live in the URL, so a reload or a
// shared link shows the same table. Each row leads to that endpoint's own view.
'use strict';

(() => {
  // [key, head, field of endpoints/stats, numeric, format]
  const COLUMNS = [
    ['endpoint', 'Endpoint', 'endpoint', false],
    ['method', 'Method', 'method', false],
    ['rps', 'Req/s', 'rps', true, TG.fmt.rate],
    ['avg', 'Avg', 'avg_latency_ms', true, TG.fmt.ms],
    ['p50', 'p50', 'p50_ms', true, TG.fmt.ms],
    ['p95', 'p95', 'p95_ms', true, TG.fmt.ms],
    ['p99', 'p99', 'p99_ms', true, TG.fmt.ms],
    ['max', 'Max', 'max_ms', true, TG.fmt.ms],
    ['errors', 'Errors', 'error_rate', true, TG.fmt.pct],
    ['requests', 'Requests', 'requests', true, TG.fmt.num],
  ];
  const WINDOWS = [['60', '1 min'], ['300', '5 min'], ['900', '15 min']];
  const SPARK_POINTS = 60;

  const keyOf = (e) => `${e.method} ${e.endpoint}`;

  function compare(col, dir) {
    const [, , field, numeric] = col;
    const sign = dir === 'asc' ? 1 : -1;
    return (a, b) => {
      const x = a[field];
      const y = b[field];
      const c = numeric ? (Number(x) || 0) - (Number(y) || 0) : String(x).localeCompare(String(y));
      // Ties keep a stable order by name, so rows do not swap at each refresh.
      return sign * c || keyOf(a).localeCompare(keyOf(b));
    };
  }

  function mount(root, {query}) {
    const st = {
      sort: COLUMNS.some((c) => c[0] === query.get('sort')) ? query.get('sort') : 'p95',
      dir: query.get('dir') === 'asc' ? 'asc' : 'desc',
      q: query.get('q') || '',
      window: WINDOWS.some((w) => w[0] === query.get('window')) ? query.get('window') : '60',
    };
    let rows = [];
    let sparks = new Map();

    root.append(TG.el('h1', {}, 'Endpoints'));
    const filter = TG.el('input', {type: 'search', id: 'endpoint-filter', value: st.q,
                                   placeholder: 'Filter by endpoint or method',
                                   'aria-label': 'Filter endpoints', autocomplete: 'off'});
    const win = TG.el('select', {id: 'endpoint-window', 'aria-label': 'Statistics window'},
      WINDOWS.map(([v, t]) => TG.el('option', {value: v, selected: v === st.window}, t)));
    const count = TG.el('span', {class: 'muted', 'aria-live': 'polite'});
    const c = TG.ui.card(root, null, {id: 'endpoints'});
    c.head.append(TG.el('div', {class: 'toolbar'}, filter,
                        TG.el('label', {}, 'Window ', win), count));

    const heads = COLUMNS.map((col) => TG.el('th', {class: col[3] ? 'num' : null, scope: 'col',
                                                  'data-col': col[0]},
      TG.el('button', {type: 'button', on: {click: () => sortBy(col[0])}}, col[1])));
    const tbody = TG.el('tbody');
    c.body.append(TG.el('div', {class: 'table-wrap'},
      TG.el('table', {id: 'endpoints-table'},
        TG.el('thead', {}, TG.el('tr', {}, heads, TG.el('th', {scope: 'col'}, 'p95 trend'))),
        tbody)));

    // A click anywhere on a row opens the endpoint, as its link does from the keyboard.
    tbody.addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-endpoint]');
      if (tr && !ev.target.closest('a') && !String(window.getSelection()))
        location.hash = tr.querySelector('a').getAttribute('href');
    });
    filter.addEventListener('input', () => { st.q = filter.value; saveState(); draw(); });
    win.addEventListener('change', () => { st.window = win.value; saveState(); TG.refresh(); });

    function saveState() {
      const p = new URLSearchParams();
      if (st.sort !== 'p95' || st.dir !== 'desc') { p.set('sort', st.sort); p.set('dir', st.dir); }
      if (st.q) p.set('q', st.q);
      if (st.window !== '60') p.set('window', st.window);
      const qs = p.toString();
      // replaceState: no hashchange, so the view is not mounted again (focus stays).
      history.replaceState(null, '', `#/endpoints${qs ? `?${qs}` : ''}`);
    }

    function sortBy(key) {
      const col = COLUMNS.find((x) => x[0] === key);
      st.dir = st.sort === key ? (st.dir === 'asc' ? 'desc' : 'asc') : col[3] ? 'desc' : 'asc';
      st.sort = key;
      saveState();
      draw();
    }

    function row(e) {
      const spark = sparks.get(keyOf(e)) || [];
      const cells = COLUMNS.map(([key, , field, numeric, fmt]) => {
        if (key === 'endpoint')
          return TG.el('td', {}, TG.el('a', {href: TG.ui.endpointHref(e.endpoint, e.method)},
                                       e.endpoint));
        const v = e[field];
        const kind = key === 'errors' ? (v >= 0.05 ? 'bad' : v >= 0.01 ? 'warn' : null) : null;
        const cls = [numeric ? 'num' : null, kind].filter(Boolean).join(' ');
        return TG.el('td', {class: cls || null}, fmt ? fmt(v) : String(v));
      });
      const max = Math.max(0, ...spark.filter((v) => v !== null));
      cells.push(TG.el('td', {class: 'spark-cell'}, TG.sparkline(spark, {
        width: 100, height: 22,
        label: spark.length ? `p95 over the range, up to ${TG.fmt.ms(max)}`
                            : 'no p95 in this range'})));
      return TG.el('tr', {'data-key': keyOf(e), 'data-endpoint': e.endpoint,
                          'data-method': e.method}, cells);
    }

    function draw() {
      for (const th of heads) {
        if (th.dataset.col === st.sort)
          th.setAttribute('aria-sort', st.dir === 'asc' ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      }
      const needle = st.q.trim().toLowerCase();
      const shown = rows.filter((e) => !needle || e.endpoint.toLowerCase().includes(needle) ||
                                       e.method.toLowerCase().includes(needle))
        .sort(compare(COLUMNS.find((x) => x[0] === st.sort), st.dir));
      TG.ui.render(tbody, shown.length ? shown.map(row) : TG.el('tr', {'data-key': 'none'},
        TG.el('td', {colspan: COLUMNS.length + 1, class: 'muted'},
              rows.length ? 'No endpoint matches the filter.' : 'No request in this window.')));
      const n = needle ? `${shown.length} of ${rows.length} endpoints` : `${rows.length} endpoints`;
      if (count.textContent !== n) count.textContent = n;
    }

    async function loadSparks() {
      const r = await TG.range(SPARK_POINTS);
      const w = await TG.q.rateWindow(r.step);
      const expr = TG.q.quantileMs(0.95, 'http_request_duration_seconds', '',
                                   ['endpoint', 'method']).replace('$__rate_interval', w);
      const d = await TG.prom.range(expr, r.start, r.end, r.step);
      // Every row's line spans the same time axis (points by step index), so their shapes
      // compare; a missing point is a gap.
      const n = Math.floor((r.end - r.start) / r.step) + 1;
      const next = new Map();
      for (const s of d.result || []) {
        const ys = new Array(n).fill(null);
        for (const [t, v] of s.values) {
          const i = Math.round((Number(t) - r.start) / r.step);
          if (i >= 0 && i < n && Number.isFinite(Number(v))) ys[i] = Number(v);
        }
        next.set(`${s.metric.method} ${s.metric.endpoint}`, ys);
      }
      // The axis starts where the first row's data does: a gateway up for a minute of a
      // 15-minute range would otherwise squeeze every line into its last pixels.
      const first = Math.min(n, ...[...next.values()].map((ys) => {
        const i = ys.findIndex((v) => v !== null);
        return i < 0 ? n : i;
      }));
      for (const [k, ys] of next) next.set(k, ys.slice(Math.min(first, n - 1)));
      sparks = next;
    }

    async function update() {
      const [stats, spark] = await Promise.allSettled([
        TG.api(`/api/v1/monitoring/endpoints/stats?window=${st.window}s`), loadSparks()]);
      if (stats.status === 'fulfilled') rows = stats.value.endpoints;
      draw();
      const e = stats.reason || spark.reason;
      TG.ui.setNote(c, e ? `Could not load: ${TG.ui.reason(e)}` : '', 'bad');
      if (e) throw e;
    }

    draw();
    return {update};
  }

  TG.view('endpoints', {title: 'Endpoints', mount});
})();
