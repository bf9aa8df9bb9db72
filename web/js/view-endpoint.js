// SPDX-License-Identifier: MIT
// One endpoint (#/endpoint/<name>?method=GET, reached from the endpoints table): its
// figures now, its percentiles, requests by status, errors by cause and time per phase
// over the picker's range, a latency heatmap (where in the histogram its requests fell,
// step by step: a p95 line hides a second mode that a heatmap shows), and its slowest
// kept traces with where their time went (queue, connect, upstream first byte,
// transfer). Without `method` every method of the endpoint is shown together.
'use strict';

(() => {
  const PHASES = [['queue', 'queue'], ['connect', 'connect'],
                  ['upstream_first_byte', 'upstream first byte'], ['transfer', 'transfer']];
  const TRACE_ROWS = 25;
  const phaseMs = (t, k) => Number((t.phases_ms || {})[k]) || 0;

  // A stacked bar of one trace's phases, on a scale shared by the whole table (`maxMs`),
  // so bar lengths compare between rows.
  function phaseBar(t, maxMs) {
    const w = 160;
    const h = 12;
    let x = 0;
    const parts = [];
    for (const [k, name] of PHASES) {
      const pw = maxMs > 0 ? (phaseMs(t, k) / maxMs) * w : 0;
      if (pw > 0)
        parts.push(TG.el('svg:rect', {class: `phase-${k}`, x: x.toFixed(1), y: 0,
                                      width: Math.max(0.5, pw).toFixed(1), height: h},
                         TG.el('svg:title', {}, `${name}: ${TG.fmt.ms(phaseMs(t, k))}`)));
      x += pw;
    }
    const text = PHASES.map(([k, name]) => `${name} ${TG.fmt.ms(phaseMs(t, k))}`).join(', ');
    return TG.el('svg:svg', {class: 'phases', width: w, height: h, viewBox: `0 0 ${w} ${h}`,
                             role: 'img', 'aria-label': text}, parts);
  }

  const phaseLegend = () => TG.el('div', {class: 'phase-legend muted'},
    PHASES.map(([k, name]) => TG.el('span', {},
      TG.el('svg:svg', {width: 10, height: 10, 'aria-hidden': 'true'},
            TG.el('svg:rect', {class: `phase-${k}`, width: 10, height: 10})),
      ` ${name}`)));

  function tile(key, label, value, kind) {
    return TG.el('div', {class: 'stat', 'data-key': key, 'data-stat': key},
      TG.el('div', {class: 'label'}, label),
      TG.el('div', {class: `value ${kind || ''}`.trim()}, value));
  }

  function traceRow(t, maxMs) {
    return {
      attrs: {'data-key': t.request_id, 'data-trace': t.request_id},
      cells: [{text: TG.fmt.time(Date.parse(t.time) / 1000), title: TG.fmt.date(t.time)},
              {text: String(t.status), class: t.status >= 500 ? 'bad' : null},
              t.cause, {text: TG.fmt.ms(t.duration_ms), num: true}, phaseBar(t, maxMs),
              t.upstream || '–', (t.kept_because || []).join(', '),
              TG.el('code', {}, t.request_id)],
    };
  }

  function mount(root, {arg, query}) {
    const name = arg;
    const method = query.get('method') || '';
    const sel = TG.q.matchers({endpoint: name, method});
    const charts = [];

    const methods = TG.el('span', {class: 'methods'});
    root.append(
      TG.el('p', {class: 'crumbs'}, TG.el('a', {href: '#/endpoints'}, '← Endpoints')),
      TG.el('h1', {}, TG.el('span', {class: 'muted'}, method || 'all methods'), ' ',
            TG.el('span', {id: 'endpoint-name'}, name || '(no endpoint named)'), ' ', methods));
    const stats = TG.el('div', {class: 'stats', id: 'endpoint-stats'});
    const statsNote = TG.el('p', {class: 'card-note bad', hidden: true, role: 'status'});
    const grid = TG.el('div', {class: 'grid charts wide'});
    root.append(stats, statsNote, grid);

    const chartCard = (title, id, unit) => {
      const c = TG.ui.card(grid, title);
      const chart = TG.timeChart(c.body, {id, unit, colorOf: TG.ui.color});
      charts.push(chart);
      return {c, chart};
    };
    const lat = chartCard('Latency (ms)', 'endpoint-latency', 'ms');
    const rate = chartCard('Requests per second by status', 'endpoint-rate', 'rps');
    const errs = chartCard('Errors per second by cause', 'endpoint-errors', 'rps');
    const phases = chartCard('p95 of each phase (ms)', 'endpoint-phases', 'ms');
    const heatCard = TG.ui.card(root, 'Latency heatmap', {id: 'endpoint-heatmap-card'});
    const heat = TG.heatmap(heatCard.body, {id: 'endpoint-heatmap'});
    charts.push(heat);
    const traceCard = TG.ui.card(root, 'Slowest kept traces', {id: 'endpoint-traces'});
    traceCard.head.append(phaseLegend());

    async function loadNow() {
      const [st, act] = await Promise.all([
        TG.api('/api/v1/monitoring/endpoints/stats?window=60s'),
        TG.api('/api/v1/monitoring/requests/active?limit=1')]);
      const mine = st.endpoints.filter((e) => e.endpoint === name);
      // Links to the endpoint's other methods, when it has more than the one shown.
      TG.ui.render(methods, mine.length > 1 || (mine.length === 1 && !method)
        ? mine.map((e) => TG.el('a', {'data-key': e.method,
                                      href: TG.ui.endpointHref(name, e.method),
                                      class: e.method === method ? 'current' : null}, e.method))
        : []);
      const e = mine.find((x) => !method || x.method === method);
      const er = e ? e.error_rate : null;
      const ms = (field) => (e ? TG.fmt.ms(e[field]) : '–');
      TG.ui.render(stats,
        tile('rps', 'Requests/s (1 m)', e ? TG.fmt.rate(e.rps) : '–'),
        tile('p50', 'p50', ms('p50_ms')),
        tile('p95', 'p95', ms('p95_ms'), e && e.p95_ms >= 1000 ? 'bad' : ''),
        tile('p99', 'p99', ms('p99_ms')),
        tile('max', 'Max', ms('max_ms')),
        tile('errors', 'Error ratio', TG.fmt.pct(er),
             er >= 0.05 ? 'bad' : er >= 0.01 ? 'warn' : ''),
        tile('active', 'Active now', String((act.by_endpoint || {})[name] || 0)));
    }

    // The traces API has no endpoint filter: the 1000 slowest kept, this endpoint's kept.
    async function loadTraces() {
      const all = await TG.api('/api/v1/monitoring/traces?limit=1000');
      const mine = all.filter((t) => t.endpoint === name && (!method || t.method === method));
      const shown = mine.slice(0, TRACE_ROWS);
      const maxMs = Math.max(0, ...shown.map((t) => Number(t.duration_ms) || 0));
      const heads = ['time', 'status', 'cause', {text: 'duration', num: true}, 'phases',
                     'upstream', 'kept because', 'request id'];
      TG.ui.render(traceCard.body, shown.length
        ? [TG.el('p', {class: 'muted'}, `${mine.length} kept traces of this endpoint among the ` +
                 `${all.length} slowest kept; the ${shown.length} slowest below.`),
           TG.ui.table(heads, shown.map((t) => traceRow(t, maxMs)))]
        : TG.ui.empty('No kept trace of this endpoint: traces keep a sample, every request ' +
                      'slower than the live p99 and every 5xx.'));
    }

    async function loadHeat() {
      const r = await TG.range(120);
      const w = await TG.q.rateWindow(r.step);
      const d = await TG.prom.range(
        `sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[${w}]))`,
        r.start, r.end, r.step);
      heat.setData(TG.bucketsToCells(d.result || []));
    }

    const q = (p) => TG.q.quantileMs(p, 'http_request_duration_seconds', sel);
    const by = (label, family) => ({
      expr: `sum by (${label}) (rate(${family}{${sel}}[$__rate_interval]))`,
      label: (m) => m[label]});
    async function update() {
      const nowErr = loadNow().then(() => null, (e) => e);
      await TG.ui.settle([
        nowErr.then((e) => {
          statsNote.hidden = !e;
          statsNote.textContent = e ? `Could not load: ${TG.ui.reason(e)}` : '';
          return e;
        }),
        TG.ui.load(lat.c, () => TG.q.rangeInto(lat.chart, [
          {expr: q(0.5), label: 'p50'}, {expr: q(0.95), label: 'p95'},
          {expr: q(0.99), label: 'p99'}])),
        TG.ui.load(rate.c, () => TG.q.rangeInto(rate.chart, [by('status', 'http_requests_total')])),
        TG.ui.load(errs.c, () => TG.q.rangeInto(errs.chart,
                                                [by('cause', 'http_request_errors_total')])),
        TG.ui.load(phases.c, () => TG.q.rangeInto(phases.chart, [{
          expr: TG.q.quantileMs(0.95, 'tailguard_request_phase_seconds', sel, ['phase']),
          label: (m) => m.phase}])),
        TG.ui.load(heatCard, loadHeat),
        TG.ui.load(traceCard, loadTraces),
      ]);
    }

    return {update, unmount: () => charts.forEach((c) => c.destroy())};
  }

  TG.view('endpoint', {title: 'Endpoint', nav: false, mount});
})();
