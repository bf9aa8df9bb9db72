// SPDX-License-Identifier: MIT
// Upstreams and collectors: every upstream server with what the proxy sees of it
// (health, in flight, requests, latency, errors, breaker, passive ejection, slow-start
// weight) joined from /api/v1/monitoring/external-services and /health/services, its p95
// and request rate over the picker's range, the probed external services, every
// collector target, and the PostgreSQL, Redis and host panels (collectors.js).
// Everything read here answers 200 whatever the gateway's health (/health/detailed
// answers 503 when no server is usable: the moment this page matters most).
'use strict';

(() => {
  const num = (text) => ({text, num: true});
  const srvKey = (upstream, server) => `${upstream}/${server}`;
  const wrap = (text) => ({text: text || '–', class: 'wrap'});

  const SERVER_HEADS = ['upstream', 'server', 'state', num('in flight'), num('requests'),
    num('avg'), num('p95 (1 m)'), num('EWMA'), num('errors'), 'breaker', 'ejected',
    num('weight'), 'last error'];
  const PROBE_HEADS = ['service', 'url', 'state', num('status'), num('latency'),
    num('error rate'), num('failed / probes'), 'checked', 'last error'];
  const TARGET_HEADS = ['job', 'instance', 'health', 'last collection', num('took'),
    'interval', 'last error'];

  // external-services has the traffic, /health/services the ejection and weight.
  function serverRows(ext, svc, p95) {
    const health = new Map(svc.filter((s) => s.type === 'upstream')
      .map((s) => [srvKey(s.upstream, s.server), s]));
    return ext.filter((s) => s.type === 'upstream').map((s) => {
      const key = srvKey(s.name, s.server);
      const h = health.get(key) || {};
      const ejected = h.ejected ? `for ${Math.round((h.ejected_for_ms || 0) / 1000)} s` : 'no';
      const times = h.times_ejected ? ` (${h.times_ejected}×)` : '';
      return {
        attrs: {'data-key': key, 'data-upstream': s.name, 'data-server': s.server},
        cells: [s.name, TG.el('code', {}, s.server), TG.ui.state(h.ejected ? 'ejected' : s.status),
                num(TG.fmt.num(s.in_flight)), num(TG.fmt.num(s.requests)),
                num(TG.fmt.ms(s.avg_latency_ms)), num(TG.fmt.ms(p95.get(key))),
                num(TG.fmt.ms(h.latency_ewma_ms)),
                {...num(TG.fmt.pct(s.error_rate)), class: s.error_rate >= 0.05 ? 'bad' : null},
                TG.ui.state(s.circuit_breaker),
                {text: `${ejected}${times}`, class: h.ejected ? 'warn' : null},
                num(TG.fmt.pct(h.weight_ratio)), wrap(s.last_error || h.last_error)],
      };
    });
  }

  function probeRows(svc) {
    return svc.filter((s) => s.type === 'probe').map((p) => ({
      attrs: {'data-key': p.service, 'data-probe': p.service},
      cells: [p.service, TG.el('code', {}, p.url), TG.ui.state(p.state),
              num(p.status_code ? String(p.status_code) : '–'), num(TG.fmt.ms(p.latency_ms)),
              num(TG.fmt.pct(p.error_rate)),
              num(`${TG.fmt.num(p.failures)} / ${TG.fmt.num(p.probes)}`),
              p.last_check_ms_ago === null ? '–'
                                           : `${Math.round(p.last_check_ms_ago / 1000)} s ago`,
              wrap(p.last_error)],
    }));
  }

  function targetRows(targets) {
    // Prometheus writes the zero time for a target never collected yet.
    const ago = (t) => (t && !t.startsWith('0001') ? `${TG.fmt.age(t)} ago` : '–');
    return targets.map((t) => ({
      attrs: {'data-key': `${t.scrapePool} ${t.labels.instance}`, 'data-target': t.scrapePool},
      cells: [t.scrapePool, t.labels.instance, TG.ui.state(t.health), ago(t.lastScrape),
              num(TG.fmt.ms(Number(t.lastScrapeDuration) * 1000)), t.scrapeInterval,
              wrap(t.lastError)],
    }));
  }

  function mount(root) {
    root.append(TG.el('h1', {}, 'Upstreams'));
    const servers = TG.ui.card(root, 'Upstream servers', {id: 'upstream-servers'});
    const grid = TG.el('div', {class: 'grid charts wide'});
    root.append(grid);
    const latCard = TG.ui.card(grid, 'p95 per server (ms)');
    const lat = TG.timeChart(latCard.body, {id: 'upstreams-latency', unit: 'ms'});
    const rateCard = TG.ui.card(grid, 'Requests per second per server');
    const rate = TG.timeChart(rateCard.body, {id: 'upstreams-rate', unit: 'rps'});
    const probes = TG.ui.card(root, 'External services (probes)', {id: 'upstream-probes'});
    const colls = TG.ui.card(root, 'Collectors', {id: 'upstream-collectors'});
    const panels = TG.el('div', {class: 'grid'});
    root.append(panels);
    const collectorPanels = TG.collectorPanels(panels);

    async function loadServers() {
      const [ext, svc, p95v, ej] = await Promise.all([
        TG.api('/api/v1/monitoring/external-services'),
        TG.api('/health/services'),
        TG.q.vector('histogram_quantile(0.95, sum by (le, upstream, server) ' +
                    '(rate(upstream_request_duration_seconds_bucket[1m]))) * 1000'),
        TG.q.vector('sum by (upstream, reason) (tailguard_outlier_ejections_total) > 0'),
      ]);
      const p95 = new Map(p95v.map((s) => [srvKey(s.metric.upstream, s.metric.server), s.value]));
      const rows = serverRows(ext.services, svc.services, p95);
      const ejections = ej.map((s) => `${s.metric.upstream}: ${TG.fmt.num(s.value)} ` +
                                      `${s.metric.reason}`);
      TG.ui.render(servers.body,
        rows.length ? TG.ui.table(SERVER_HEADS, rows, {id: 'upstream-servers-table'})
                    : TG.ui.empty('No upstream server.'),
        TG.el('p', {class: 'muted'}, ejections.length
          ? `Ejections since start: ${ejections.join(' · ')}`
          : 'No server was ejected since start.'));
      const pr = probeRows(svc.services);
      TG.ui.render(probes.body, pr.length ? TG.ui.table(PROBE_HEADS, pr)
        : TG.ui.empty('No external service is probed (collectors.probes).'));
    }

    async function loadTargets() {
      const d = await TG.api('/api/v1/targets');
      const targets = (d.data && d.data.activeTargets) || [];
      TG.ui.render(colls.body, TG.ui.table(TARGET_HEADS, targetRows(targets)));
      return targets;
    }

    const perServer = (m) => srvKey(m.upstream, m.server);
    async function update() {
      const targets = loadTargets();
      await TG.ui.settle([
        TG.ui.load(servers, loadServers),
        TG.ui.load(colls, () => targets),
        TG.ui.load(latCard, () => TG.q.rangeInto(lat, [{
          expr: TG.q.quantileMs(0.95, 'upstream_request_duration_seconds', '',
                                ['upstream', 'server']),
          label: perServer}])),
        TG.ui.load(rateCard, () => TG.q.rangeInto(rate, [{
          expr: 'sum by (upstream, server) ' +
                '(rate(upstream_request_duration_seconds_count[$__rate_interval]))',
          label: perServer}])),
        collectorPanels.update(targets.catch(() => null)).catch((e) => e),
      ]);
    }

    return {update, unmount: () => [lat, rate, collectorPanels].forEach((c) => c.destroy())};
  }

  TG.view('upstreams', {title: 'Upstreams', mount});
})();
