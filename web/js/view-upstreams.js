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
  const srvKey = (upstream, server) => `${upstream}/${server}`;

  function serverRows(ext, svc, p95) {
    const health = new Map(svc.filter((s) => s.type === 'upstream')
      .map((s) => [srvKey(s.upstream, s.server), s]));
    return ext.filter((s) => s.type === 'upstream').map((s) => {
      const key = srvKey(s.name, s.server);
      const h = health.get(key) || {};
      const state = h.ejected ? 'ejected' : s.status;
      const ej = h.ejected ? `for ${Math.round((h.ejected_for_ms || 0) / 1000)} s` : 'no';
      return {
        attrs: {'data-key': key, 'data-upstream': s.name, 'data-server': s.server},
        cells: [s.name, TG.el('code', {}, s.server), TG.ui.state(state),
                {text: TG.fmt.num(s.in_flight), num: true},
                {text: TG.fmt.num(s.requests), num: true},
                {text: TG.fmt.ms(s.avg_latency_ms), num: true},
                {text: TG.fmt.ms(p95.get(key)), num: true},
                {text: TG.fmt.ms(h.latency_ewma_ms), num: true},
                {text: TG.fmt.pct(s.error_rate), num: true,
                 class: s.error_rate >= 0.05 ? 'num bad' : null},
                TG.ui.state(s.circuit_breaker),
                {text: `${ej}${h.times_ejected ? ` (${h.times_ejected}×)` : ''}`,
                 class: h.ejected ? 'warn' : null},
                {text: TG.fmt.pct(h.weight_ratio), num: true},
                {text: s.last_error || h.last_error || '–', class: 'wrap'}],
      };
    });
  }

  const SERVER_HEADS = ['upstream', 'server', 'state', {text: 'in flight', num: true},
    {text: 'requests', num: true}, {text: 'avg', num: true}, {text: 'p95 (1 m)', num: true},
    {text: 'EWMA', num: true}, {text: 'errors', num: true}, 'breaker', 'ejected',
    {text: 'weight', num: true}, 'last error'];

  function probeRows(svc) {
    return svc.filter((s) => s.type === 'probe').map((p) => ({
      attrs: {'data-key': p.service, 'data-probe': p.service},
      cells: [p.service, TG.el('code', {}, p.url), TG.ui.state(p.state),
              {text: p.status_code ? String(p.status_code) : '–', num: true},
              {text: TG.fmt.ms(p.latency_ms), num: true},
              {text: TG.fmt.pct(p.error_rate), num: true},
              {text: `${TG.fmt.num(p.failures)} / ${TG.fmt.num(p.probes)}`, num: true},
              p.last_check_ms_ago === null ? '–' : `${Math.round(p.last_check_ms_ago / 1000)} s ago`,
              {text: p.last_error || '–', class: 'wrap'}],
    }));
  }

  function targetRows(targets) {
    return targets.map((t) => ({
      attrs: {'data-key': `${t.scrapePool} ${t.labels.instance}`, 'data-target': t.scrapePool},
      cells: [t.scrapePool, t.labels.instance, TG.ui.state(t.health),
              t.lastScrape && !t.lastScrape.startsWith('0001') ? `${TG.fmt.age(t.lastScrape)} ago` : '–',
              {text: TG.fmt.ms(Number(t.lastScrapeDuration) * 1000), num: true},
              t.scrapeInterval, {text: t.lastError || '–', class: 'wrap'}],
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
      const ejections = ej.map((s) => `${s.metric.upstream}: ${TG.fmt.num(s.value)} ${s.metric.reason}`);
      TG.ui.render(servers.body,
        rows.length ? TG.ui.table(SERVER_HEADS, rows, {id: 'upstream-servers-table'})
                    : TG.ui.empty('No upstream server.'),
        TG.el('p', {class: 'muted'}, ejections.length
          ? `Ejections since start: ${ejections.join(' · ')}` : 'No server was ejected since start.'));
      const pr = probeRows(svc.services);
      TG.ui.render(probes.body, pr.length
        ? TG.ui.table(['service', 'url', 'state', {text: 'status', num: true},
                       {text: 'latency', num: true}, {text: 'error rate', num: true},
                       {text: 'failed / probes', num: true}, 'checked', 'last error'], pr)
        : TG.ui.empty('No external service is probed (collectors.probes).'));
    }

    async function loadTargets() {
      const d = await TG.api('/api/v1/targets');
      const targets = (d.data && d.data.activeTargets) || [];
      TG.ui.render(colls.body, TG.ui.table(
        ['job', 'instance', 'health', 'last collection', {text: 'took', num: true}, 'interval',
         'last error'], targetRows(targets)));
      return targets;
    }

    const series = (m) => srvKey(m.upstream, m.server);
    async function update() {
      const targets = loadTargets();
      await TG.ui.settle([
        TG.ui.load(servers, loadServers),
        TG.ui.load(colls, () => targets),
        TG.ui.load(latCard, () => TG.q.rangeInto(lat, [{
          expr: TG.q.quantileMs(0.95, 'upstream_request_duration_seconds', '', ['upstream', 'server']),
          label: series}])),
        TG.ui.load(rateCard, () => TG.q.rangeInto(rate, [{
          expr: 'sum by (upstream, server) (rate(upstream_request_duration_seconds_count[$__rate_interval]))',
          label: series}])),
        collectorPanels.update(targets.catch(() => null)),
      ]);
    }

    return {update, unmount: () => { lat.destroy(); rate.destroy(); collectorPanels.destroy(); }};
  }

  TG.view('upstreams', {title: 'Upstreams', mount});
})();
