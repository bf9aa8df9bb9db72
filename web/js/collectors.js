// SPDX-License-Identifier: MIT
// The collectors' panels of the upstreams view: PostgreSQL (connections by state, the
// oldest active statement, waiting locks, cache hit ratio, slowest statements), Redis
// (INFO's summary) and the host (CPU, memory, load). Which collectors exist comes from
// the store's targets list, so a collector that is not configured is one line saying so
// and is never asked (its JSON paths answer 404, which the browser would log as an
// error at every refresh); one that is down shows its last error instead of its data.
'use strict';

(() => {
  const inst = (t) => encodeURIComponent(t.labels.instance);
  const NOT_CONFIGURED = {
    postgres: 'PostgreSQL: not configured (collectors.postgres in the configuration file).',
    redis: 'Redis: not configured (collectors.redis in the configuration file).',
    node: 'Host: not configured (collectors.host.enabled is false).',
  };

  // A 404 from a collector's JSON means none is configured: said, not shown as a failure.
  async function orNotConfigured(kind, fn) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof TG.ApiError && e.status === 404) return TG.ui.empty(NOT_CONFIGURED[kind]);
      throw e;
    }
  }

  const down = (t) => TG.el('p', {class: 'bad'},
                            `${t.labels.instance}: down${t.lastError ? ` (${t.lastError})` : ''}`);

  async function postgres(t, avail, hits) {
    const q = `instance=${inst(t)}`;
    const [conn, locks] = await Promise.all([
      TG.api(`/api/v1/monitoring/database/connections?${q}`),
      TG.api(`/api/v1/monitoring/database/locks?${q}`)]);
    // Only asked when the extension was read: without it the answer is a 503.
    const slow = avail.get(t.labels.instance) === 1
      ? (await TG.api(`/api/v1/monitoring/database/slow-queries?min_mean_ms=0&limit=5&${q}`)).queries
      : null;
    const by = new Map(conn.by_state.map((s) => [s.state, s]));
    const longest = (s) => (by.get(s) ? `${TG.fmt.num(by.get(s).max_duration_s)} s` : '–');
    return TG.el('div', {'data-key': t.labels.instance, 'data-collector': `postgres ${t.labels.instance}`},
      TG.el('h3', {}, t.labels.instance),
      TG.ui.kv([
        ['connections', `${conn.total} of ${conn.max_connections} (${TG.fmt.pct(conn.usage_ratio)})`],
        ['longest active', longest('active')],
        ['longest idle in transaction', longest('idle in transaction')],
        ['waiting locks', String(locks.waiting.length)],
        ['cache hit ratio', TG.fmt.pct(hits.get(t.labels.instance))]]),
      TG.ui.table(['state', {text: 'connections', num: true}, {text: 'longest (s)', num: true}],
        conn.by_state.map((s) => ({attrs: {'data-key': s.state},
          cells: [s.state, {text: String(s.connections), num: true},
                  {text: TG.fmt.num(s.max_duration_s), num: true}]}))),
      slow === null
        ? TG.ui.empty('pg_stat_statements is not available: no statement times.')
        : slow.length
          ? TG.ui.table(['slowest statements (mean)', {text: 'calls', num: true},
                         {text: 'avg', num: true}, {text: 'max', num: true}],
            slow.map((s, i) => ({attrs: {'data-key': String(i)},
              cells: [{text: s.query.length > 80 ? `${s.query.slice(0, 80)}…` : s.query,
                       title: s.query, class: 'mono'},
                      {text: TG.fmt.num(s.calls), num: true}, {text: TG.fmt.ms(s.avg_ms), num: true},
                      {text: TG.fmt.ms(s.max_ms), num: true}]})))
          : TG.ui.empty('No statement recorded yet.'));
  }

  async function redis(t) {
    const r = await TG.api(`/api/v1/monitoring/redis/info?instance=${inst(t)}`);
    const m = r.memory;
    const k = r.keyspace;
    return TG.el('div', {'data-key': t.labels.instance, 'data-collector': `redis ${t.labels.instance}`},
      TG.el('h3', {}, `${r.instance} (${r.role} ${r.version})`),
      TG.ui.kv([
        ['ops/s', TG.fmt.num(r.ops_per_sec)],
        ['clients', `${TG.fmt.num(r.clients.connected)} connected, ${TG.fmt.num(r.clients.blocked)} blocked, ` +
                    `${TG.fmt.num(r.clients.rejected_connections)} rejected`],
        ['memory', `${TG.fmt.num(m.used_bytes / 1048576)} MiB` +
                   (m.max_bytes ? ` of ${TG.fmt.num(m.max_bytes / 1048576)} MiB (${TG.fmt.pct(m.used_ratio)})` : ' (no maxmemory)') +
                   `, policy ${m.policy}, fragmentation ${TG.fmt.num(m.fragmentation_ratio)}`],
        ['hit rate', k.hit_rate === null ? 'no lookup yet' : TG.fmt.pct(k.hit_rate)],
        ['keys', `${TG.fmt.num(k.keys)} (${TG.fmt.num(k.expiring)} expiring), ` +
                 `${TG.fmt.num(k.evicted)} evicted, ${TG.fmt.num(k.expired)} expired`],
        ['uptime', `${TG.fmt.num(r.uptime_s / 3600)} h`]]));
  }

  // The host's figures now, one instant query each (all instances at once).
  async function host(targets) {
    const by = async (expr) => new Map((await TG.q.vector(expr)).map((s) => [s.metric.instance, s.value]));
    const [cpu, mem, cores, l1, l5, l15] = await Promise.all([
      by('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m]))'),
      by('1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes'),
      by('count by (instance) (node_cpu_seconds_total{mode="idle"})'),
      by('node_load1'), by('node_load5'), by('node_load15')]);
    return targets.map((t) => {
      const i = t.labels.instance;
      if (t.health === 'down') return down(t);
      const c = cpu.get(i);
      return TG.el('div', {'data-key': i, 'data-collector': `node ${i}`},
        TG.el('h3', {}, i),
        TG.ui.kv([
          ['CPU busy', TG.el('span', {class: c >= 0.8 ? 'bad' : ''}, TG.fmt.pct(c))],
          ['memory used', TG.fmt.pct(mem.get(i))],
          ['load 1 / 5 / 15', `${TG.fmt.num(l1.get(i))} / ${TG.fmt.num(l5.get(i))} / ${TG.fmt.num(l15.get(i))}` +
                              (cores.get(i) ? ` on ${cores.get(i)} CPUs` : '')]]));
    });
  }

  function collectorPanels(container) {
    const cards = {
      postgres: TG.ui.card(container, 'PostgreSQL', {id: 'collector-postgres'}),
      redis: TG.ui.card(container, 'Redis', {id: 'collector-redis'}),
      node: TG.ui.card(container, 'Host', {id: 'collector-host'}),
    };
    const hostCard = cards.node;
    const hostChart = TG.timeChart(hostCard.el, {id: 'upstreams-host', unit: 'ratio', height: 160});

    async function panel(kind, targets, render) {
      const mine = targets.filter((t) => t.scrapePool === kind);
      const c = cards[kind];
      return TG.ui.load(c, async () => {
        if (!mine.length) {
          TG.ui.render(c.body, TG.ui.empty(NOT_CONFIGURED[kind]));
          return;
        }
        TG.ui.render(c.body, await orNotConfigured(kind, () => render(mine)));
      });
    }

    async function update(targetsP) {
      const targets = await targetsP;
      if (!targets) return null;
      hostChart.el.hidden = !targets.some((t) => t.scrapePool === 'node');
      const pg = targets.some((t) => t.scrapePool === 'postgres');
      const [avail, hits] = pg ? await Promise.all([
        TG.q.vector('pg_stat_statements_available'),
        TG.q.vector('sum by (instance) (pg_stat_database_blks_hit) / (sum by (instance) ' +
                    '(pg_stat_database_blks_hit) + sum by (instance) (pg_stat_database_blks_read))'),
      ]).then((r) => r.map((v) => new Map(v.map((s) => [s.metric.instance, s.value]))))
        .catch(() => [new Map(), new Map()]) : [new Map(), new Map()];
      const each = (fn) => (mine) => Promise.all(mine.map((t) => (t.health === 'down' ? down(t) : fn(t))));
      const errors = (await Promise.all([
        panel('postgres', targets, each((t) => postgres(t, avail, hits))),
        panel('redis', targets, each(redis)),
        panel('node', targets, host),
        targets.some((t) => t.scrapePool === 'node')
          ? TG.ui.load(hostCard, () => TG.q.rangeInto(hostChart, [
            {expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))',
             label: (m) => `CPU ${m.instance}`},
            {expr: '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes',
             label: (m) => `memory ${m.instance}`}]))
          : null,
      ])).filter(Boolean);
      if (errors.length) throw errors[0];
      return null;
    }

    return {update: (p) => update(p).then(() => null, (e) => e), destroy: () => hostChart.destroy()};
  }

  TG.collectorPanels = collectorPanels;
})();
