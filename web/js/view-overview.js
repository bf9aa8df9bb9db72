// SPDX-License-Identifier: MIT
// The overview (default view): the gateway now, in tiles (rate, error ratio, p95,
// active requests, alerts firing, open incidents, breakers open), the same figures over
// the picker's range as charts (range queries of the Prometheus API), and what needs
// the reader: firing and pending alerts, open incidents, circuit breakers not closed.
// Refusals before routing (the endpoint "(rejected)") are left out everywhere here, as
// the monitoring API leaves them out of its gateway-wide figures: a flood of malformed
// requests is not the API's latency.
'use strict';

(() => {
  const SEL = TG.q.matchers({endpoint: '!(rejected)'});
  const BREAKER = {0: 'closed', 1: 'open', 2: 'half_open'};

  function tile(key, label, value, sub, kind, href) {
    const body = [TG.el('div', {class: 'label'}, label),
                  TG.el('div', {class: `value ${kind || ''}`.trim()}, value),
                  TG.el('div', {class: 'sub muted'}, sub || '\u00a0')];
    return href ? TG.el('a', {class: 'stat', href, 'data-key': key, 'data-stat': key}, body)
                : TG.el('div', {class: 'stat', 'data-key': key, 'data-stat': key}, body);
  }

  const level = (x, warn, bad) => (x >= bad ? 'bad' : x >= warn ? 'warn' : '');

  function alertItem(a) {
    const name = a.labels.alertname || '(unnamed)';
    const key = `${name}${JSON.stringify(a.labels)}`;
    const summary = a.annotations.summary || a.annotations.description || '';
    return TG.el('li', {'data-key': key, 'data-alert': name, 'data-state': a.state},
      TG.el('div', {class: 'row-head'},
        TG.el('a', {href: '#/alerts'}, name), ' ', TG.ui.state(a.state),
        a.labels.severity ? TG.ui.badge(a.labels.severity) : null,
        TG.el('span', {class: 'muted'}, ` since ${TG.fmt.age(a.activeAt)} · value ${TG.fmt.num(a.value)}`)),
      TG.ui.labels(a.labels, ['alertname', 'severity']),
      summary ? TG.el('div', {class: 'muted'}, summary) : null);
  }

  function incidentItem(i) {
    return TG.el('li', {'data-key': String(i.id), 'data-incident': String(i.id)},
      TG.el('div', {class: 'row-head'},
        TG.el('a', {href: `#/alerts/${i.id}`}, `#${i.id} ${i.title}`), ' ', TG.ui.state(i.status),
        i.severity ? TG.ui.badge(i.severity, i.severity === 'SEV-1' ? 'bad' : 'warn') : null),
      TG.el('div', {class: 'muted'},
        `opened ${TG.fmt.age(i.opened_at)} ago by ${i.opened_by} · ${i.alerts_firing} of ` +
        `${i.alerts_total} alerts firing · ${i.escalation_level}`));
  }

  function mount(root) {
    root.append(TG.el('h1', {}, 'Overview'));
    const stats = TG.el('div', {class: 'stats', id: 'overview-stats'});
    const statsNote = TG.el('p', {class: 'card-note bad', hidden: true, role: 'status'});
    root.append(stats, statsNote);
    const charts = TG.el('div', {class: 'grid charts'});
    const lists = TG.el('div', {class: 'grid'});
    root.append(charts, lists);

    const latCard = TG.ui.card(charts, 'Latency (ms)');
    const latency = TG.timeChart(latCard.body, {id: 'overview-latency', unit: 'ms',
                                                colorOf: TG.ui.color});
    const rateCard = TG.ui.card(charts, 'Requests per second');
    const rate = TG.timeChart(rateCard.body, {id: 'overview-rate', unit: 'rps',
                                              colorOf: TG.ui.color});
    const errCard = TG.ui.card(charts, 'Error ratio');
    const errors = TG.timeChart(errCard.body, {id: 'overview-errors', unit: 'ratio',
                                               colorOf: TG.ui.color});
    const alertCard = TG.ui.card(lists, 'Alerts', {id: 'overview-alerts'});
    const incCard = TG.ui.card(lists, 'Open incidents', {id: 'overview-incidents'});
    const brkCard = TG.ui.card(lists, 'Circuit breakers', {id: 'overview-breakers'});

    // What the tiles and lists read, shared by both.
    const now = {};

    async function loadNow() {
      const parts = {
        req: TG.api('/api/v1/monitoring/metrics/requests'),
        lat: TG.api('/api/v1/monitoring/metrics/latency?window=60s'),
        act: TG.api('/api/v1/monitoring/requests/active?limit=1'),
        alerts: TG.api('/api/v1/alerts').then((d) => d.data.alerts),
        // Mitigated is not over: it counts as open until it resolves.
        incidents: Promise.all(['open', 'mitigated'].map((st) => TG.api(`/api/v1/incidents?status=${st}`)))
          .then((l) => l.flatMap((d) => d.incidents).sort((a, b) => b.id - a.id)),
        breakers: TG.q.vector('circuit_breaker_state'),
      };
      const names = Object.keys(parts);
      const results = await Promise.allSettled(Object.values(parts));
      const err = {};
      results.forEach((r, i) => {
        now[names[i]] = r.status === 'fulfilled' ? r.value : null;
        if (r.status === 'rejected') err[names[i]] = r.reason;
      });
      const note = (e) => (e ? `Could not load: ${TG.ui.reason(e)}` : '');
      renderTiles();
      const tileErr = err.req || err.lat || err.act;
      statsNote.hidden = !tileErr;
      statsNote.textContent = note(tileErr);
      renderLists();
      TG.ui.setNote(alertCard, note(err.alerts), 'bad');
      TG.ui.setNote(incCard, note(err.incidents), 'bad');
      TG.ui.setNote(brkCard, note(err.breakers), 'bad');
      const first = Object.values(err)[0];
      if (first) throw first;
    }

    function renderTiles() {
      const {req, lat, act, alerts, incidents, breakers} = now;
      const firing = alerts ? alerts.filter((a) => a.state === 'firing').length : null;
      const pending = alerts ? alerts.length - firing : 0;
      const open = breakers ? breakers.filter((b) => b.value === 1).length : null;
      const half = breakers ? breakers.filter((b) => b.value === 2).length : 0;
      const er = req ? req.error_rate : null;
      const p95 = lat ? lat.current.p95_ms : null;
      TG.ui.render(stats,
        tile('rps', 'Requests/s (1 m)', req ? TG.fmt.rate(req.requests_per_second) : '–',
             req ? `${TG.fmt.rate(req['5m'].requests_per_second)} over 5 m` : ''),
        tile('errors', 'Error ratio (5xx, 1 m)', TG.fmt.pct(er),
             req ? `${TG.fmt.num(req['1m'].errors_5xx)} 5xx in 1 m` : '', level(er, 0.01, 0.05)),
        tile('p95', 'p95 (1 m)', TG.fmt.ms(p95),
             lat ? `p50 ${TG.fmt.ms(lat.current.p50_ms)} · p99 ${TG.fmt.ms(lat.current.p99_ms)}` : '',
             level(p95, 500, 1000), '#/endpoints'),
        tile('active', 'Active requests', act ? TG.fmt.num(act.active) : '–',
             act && act.active ? `oldest ${TG.fmt.ms(act.oldest_ms)}` : ''),
        tile('alerts', 'Alerts firing', firing === null ? '–' : String(firing),
             pending ? `${pending} pending` : '', firing ? 'bad' : pending ? 'warn' : '', '#/alerts'),
        tile('incidents', 'Open incidents', incidents ? String(incidents.length) : '–', '',
             incidents && incidents.length ? 'bad' : '', '#/alerts'),
        tile('breakers', 'Breakers open', open === null ? '–' : String(open),
             half ? `${half} half-open` : breakers && breakers.length ? `${breakers.length} enabled` : 'none enabled',
             open ? 'bad' : half ? 'warn' : '', '#/upstreams'));
    }

    function renderLists() {
      if (now.alerts) {
        const order = (a) => (a.state === 'firing' ? 0 : 1);
        const list = [...now.alerts].sort((a, b) => order(a) - order(b) ||
                                          String(a.activeAt).localeCompare(String(b.activeAt)));
        TG.ui.render(alertCard.body, list.length
          ? TG.el('ul', {class: 'items'}, list.map(alertItem))
          : TG.ui.empty('No alert is firing or pending.'));
      }
      if (now.incidents)
        TG.ui.render(incCard.body, now.incidents.length
          ? TG.el('ul', {class: 'items'}, now.incidents.map(incidentItem))
          : TG.ui.empty('No open incident.'));
      if (now.breakers) {
        const rows = [...now.breakers].sort((a, b) => b.value - a.value).map((b) => {
          const scope = b.metric.route ? `route ${b.metric.route}` : `upstream ${b.metric.upstream}`;
          return {attrs: {'data-key': scope, 'data-breaker': scope},
                  cells: [scope, TG.ui.state(BREAKER[b.value] || String(b.value))]};
        });
        TG.ui.render(brkCard.body, rows.length
          ? TG.ui.table(['breaker', 'state'], rows)
          : TG.ui.empty('No circuit breaker is enabled (PUT /api/v1/system/circuit-breaker).'));
      }
    }

    const q = (p) => TG.q.quantileMs(p, 'http_request_duration_seconds', SEL);
    const total = `sum(rate(http_requests_total{${SEL}}[$__rate_interval]))`;
    const byClass = (re) => `sum(rate(http_requests_total{${SEL},status=~"${re}"}[$__rate_interval]))`;

    async function update() {
      await TG.ui.settle([
        loadNow().then(() => null, (e) => e),
        TG.ui.load(latCard, () => TG.q.rangeInto(latency, [
          {expr: q(0.5), label: 'p50'}, {expr: q(0.95), label: 'p95'}, {expr: q(0.99), label: 'p99'}])),
        TG.ui.load(rateCard, () => TG.q.rangeInto(rate, [
          {expr: total, label: 'total'},
          {expr: `sum by (class) (label_replace(rate(http_requests_total{${SEL}}[$__rate_interval]), ` +
                 `"class", "\${1}xx", "status", "(.).."))`, label: (m) => m.class}])),
        TG.ui.load(errCard, () => TG.q.rangeInto(errors, [
          {expr: `(${byClass('5..')} or vector(0)) / ${total}`, label: '5xx'},
          {expr: `(${byClass('4..')} or vector(0)) / ${total}`, label: '4xx'}])),
      ]);
    }

    return {update, unmount: () => [latency, rate, errors].forEach((c) => c.destroy())};
  }

  TG.view('overview', {title: 'Overview', mount});
})();
