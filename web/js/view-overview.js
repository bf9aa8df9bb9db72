// SPDX-License-Identifier: MIT
// The overview (default view): the gateway now, in tiles (rate, error ratio, p95,
// active requests, alerts firing, open incidents, breakers open), the same figures over
// the picker's range as charts (range queries of the Prometheus API), and what needs
// the reader: firing and pending alerts, open incidents, circuit breakers. Refusals
// before routing (the endpoint "(rejected)") are left out everywhere here, as the
// monitoring API leaves them out of its gateway-wide figures: a flood of malformed
// requests is not the API's latency.
'use strict';

(() => {
  const SEL = TG.q.matchers({endpoint: '!(rejected)'});
  const BREAKER = {0: 'closed', 1: 'open', 2: 'half_open'};

  function tile(key, label, value, sub, kind, href) {
    const attrs = {class: 'stat', href, 'data-key': key, 'data-stat': key};
    return TG.el(href ? 'a' : 'div', attrs,
                 TG.el('div', {class: 'label'}, label),
                 TG.el('div', {class: `value ${kind || ''}`.trim()}, value),
                 TG.el('div', {class: 'sub muted'}, sub || '\u00a0'));
  }

  const level = (x, warn, bad) => (x >= bad ? 'bad' : x >= warn ? 'warn' : '');

  // Firing before pending, then the longest active first.
  const byState = (a, b) => (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
                            String(a.activeAt).localeCompare(String(b.activeAt));

  function alertItem(a) {
    const name = a.labels.alertname || '(unnamed)';
    const summary = a.annotations.summary || a.annotations.description || '';
    return TG.el('li', {'data-key': `${name}${JSON.stringify(a.labels)}`, 'data-alert': name,
                        'data-state': a.state},
      TG.el('div', {class: 'row-head'},
        TG.el('a', {href: '#/alerts'}, name), ' ', TG.ui.state(a.state),
        a.labels.severity ? TG.ui.badge(a.labels.severity) : null,
        TG.el('span', {class: 'muted'},
              ` since ${TG.fmt.age(a.activeAt)} · value ${TG.fmt.num(a.value)}`)),
      TG.ui.labels(a.labels, ['alertname', 'severity']),
      summary ? TG.el('div', {class: 'muted'}, summary) : null);
  }

  function incidentItem(i) {
    return TG.el('li', {'data-key': String(i.id), 'data-incident': String(i.id)},
      TG.el('div', {class: 'row-head'},
        TG.el('a', {href: `#/alerts/${i.id}`}, `#${i.id} ${i.title}`), ' ',
        TG.ui.state(i.status), i.severity ? TG.ui.severity(i.severity) : null),
      TG.el('div', {class: 'muted'},
        `opened ${TG.fmt.age(i.opened_at)} ago by ${i.opened_by} · ${i.alerts_firing} of ` +
        `${i.alerts_total} alerts firing · ${i.escalation_level}`));
  }

  function breakerRow(b) {
    const scope = b.metric.route ? `route ${b.metric.route}` : `upstream ${b.metric.upstream}`;
    return {attrs: {'data-key': scope, 'data-breaker': scope},
            cells: [scope, TG.ui.state(BREAKER[b.value] || String(b.value))]};
  }

  // The figures of the tiles and lists, each from the API that answers it.
  function readNow() {
    return {
      req: TG.api('/api/v1/monitoring/metrics/requests'),
      lat: TG.api('/api/v1/monitoring/metrics/latency?window=60s'),
      act: TG.api('/api/v1/monitoring/requests/active?limit=1'),
      alerts: TG.api('/api/v1/alerts').then((d) => d.data.alerts.sort(byState)),
      // Mitigated is not over: it counts as open until it resolves.
      incidents: Promise.all(['open', 'mitigated'].map(
        (st) => TG.api(`/api/v1/incidents?status=${st}`)))
        .then((l) => l.flatMap((d) => d.incidents).sort((a, b) => b.id - a.id)),
      breakers: TG.q.vector('circuit_breaker_state')
        .then((l) => l.sort((a, b) => b.value - a.value)),
    };
  }

  function tiles(now) {
    const {req, lat, act, alerts, incidents, breakers} = now;
    const firing = alerts ? alerts.filter((a) => a.state === 'firing').length : null;
    const pending = alerts ? alerts.length - firing : 0;
    const open = breakers ? breakers.filter((b) => b.value === 1).length : null;
    const half = breakers ? breakers.filter((b) => b.value === 2).length : 0;
    const er = req ? req.error_rate : null;
    const p95 = lat ? lat.current.p95_ms : null;
    const cur = lat ? lat.current : null;
    const tail = cur ? `p50 ${TG.fmt.ms(cur.p50_ms)} · p99 ${TG.fmt.ms(cur.p99_ms)}` : '';
    const enabled = breakers && breakers.length ? `${breakers.length} enabled` : 'none enabled';
    return [
      tile('rps', 'Requests/s (1 m)', req ? TG.fmt.rate(req.requests_per_second) : '–',
           req ? `${TG.fmt.rate(req['5m'].requests_per_second)} over 5 m` : ''),
      tile('errors', 'Error ratio (5xx, 1 m)', TG.fmt.pct(er),
           req ? `${TG.fmt.num(req['1m'].errors_5xx)} 5xx in 1 m` : '', level(er, 0.01, 0.05)),
      tile('p95', 'p95 (1 m)', TG.fmt.ms(p95), tail, level(p95, 500, 1000), '#/endpoints'),
      tile('active', 'Active requests', act ? TG.fmt.num(act.active) : '–',
           act && act.active ? `oldest ${TG.fmt.ms(act.oldest_ms)}` : ''),
      tile('alerts', 'Alerts firing', firing === null ? '–' : String(firing),
           pending ? `${pending} pending` : '', firing ? 'bad' : pending ? 'warn' : '',
           '#/alerts'),
      tile('incidents', 'Open incidents', incidents ? String(incidents.length) : '–', '',
           incidents && incidents.length ? 'bad' : '', '#/alerts'),
      tile('breakers', 'Breakers open', open === null ? '–' : String(open),
           half ? `${half} half-open` : enabled, open ? 'bad' : half ? 'warn' : '', '#/upstreams'),
    ];
  }

  function mount(root) {
    root.append(TG.el('h1', {}, 'Overview'));
    const stats = TG.el('div', {class: 'stats', id: 'overview-stats'});
    const statsNote = TG.el('p', {class: 'card-note bad', hidden: true, role: 'status'});
    const charts = TG.el('div', {class: 'grid charts'});
    const lists = TG.el('div', {class: 'grid'});
    root.append(stats, statsNote, charts, lists);

    const chart = (title, id, unit) => {
      const c = TG.ui.card(charts, title);
      return {c, chart: TG.timeChart(c.body, {id, unit, colorOf: TG.ui.color})};
    };
    const lat = chart('Latency (ms)', 'overview-latency', 'ms');
    const rate = chart('Requests per second', 'overview-rate', 'rps');
    const errs = chart('Error ratio', 'overview-errors', 'ratio');
    const cards = {
      alerts: TG.ui.card(lists, 'Alerts', {id: 'overview-alerts'}),
      incidents: TG.ui.card(lists, 'Open incidents', {id: 'overview-incidents'}),
      breakers: TG.ui.card(lists, 'Circuit breakers', {id: 'overview-breakers'}),
    };
    const LISTS = {
      alerts: [(l) => TG.el('ul', {class: 'items'}, l.map(alertItem)),
               'No alert is firing or pending.'],
      incidents: [(l) => TG.el('ul', {class: 'items'}, l.map(incidentItem)), 'No open incident.'],
      breakers: [(l) => TG.ui.table(['breaker', 'state'], l.map(breakerRow)),
                 'No circuit breaker is enabled (PUT /api/v1/system/circuit-breaker).'],
    };

    // A list whose API failed keeps what it showed last, under a note saying why.
    async function loadNow() {
      const parts = readNow();
      const names = Object.keys(parts);
      const results = await Promise.allSettled(Object.values(parts));
      const now = {};
      const err = {};
      results.forEach((r, i) => {
        now[names[i]] = r.status === 'fulfilled' ? r.value : null;
        if (r.status === 'rejected') err[names[i]] = r.reason;
      });
      const note = (e) => (e ? `Could not load: ${TG.ui.reason(e)}` : '');
      TG.ui.render(stats, tiles(now));
      const tileErr = err.req || err.lat || err.act;
      statsNote.hidden = !tileErr;
      statsNote.textContent = note(tileErr);
      for (const [name, [render, none]] of Object.entries(LISTS)) {
        if (now[name])
          TG.ui.render(cards[name].body, now[name].length ? render(now[name]) : TG.ui.empty(none));
        TG.ui.setNote(cards[name], note(err[name]), 'bad');
      }
      const first = Object.values(err)[0];
      return first || null;
    }

    const q = (p) => TG.q.quantileMs(p, 'http_request_duration_seconds', SEL);
    const rateOf = (sel) => `sum(rate(http_requests_total{${sel}}[$__rate_interval]))`;
    const total = rateOf(SEL);
    const byClass = 'sum by (class) (label_replace(' +
      `rate(http_requests_total{${SEL}}[$__rate_interval]), ` +
      '"class", "${1}xx", "status", "(.).."))';
    // `or vector(0)`: no 5xx series at all is a ratio of 0, not a gap.
    const ratio = (re) => `(${rateOf(`${SEL},status=~"${re}"`)} or vector(0)) / ${total}`;

    async function update() {
      await TG.ui.settle([
        loadNow(),
        TG.ui.load(lat.c, () => TG.q.rangeInto(lat.chart, [
          {expr: q(0.5), label: 'p50'}, {expr: q(0.95), label: 'p95'},
          {expr: q(0.99), label: 'p99'}])),
        TG.ui.load(rate.c, () => TG.q.rangeInto(rate.chart, [
          {expr: total, label: 'total'}, {expr: byClass, label: (m) => m.class}])),
        TG.ui.load(errs.c, () => TG.q.rangeInto(errs.chart, [
          {expr: ratio('5..'), label: '5xx'}, {expr: ratio('4..'), label: '4xx'}])),
      ]);
    }

    return {update, unmount: () => [lat, rate, errs].forEach((x) => x.chart.destroy())};
  }

  TG.view('overview', {title: 'Overview', mount});
})();
