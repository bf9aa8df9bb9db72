// SPDX-License-Identifier: MIT
// The collectors' panels of the upstreams view: PostgreSQL (connections by state, the
// oldest active statement, waiting locks, cache hit ratio, slowest statements), Redis
// (INFO's summary) and the host (CPU, memory, load). Which collectors exist comes from
// the store's targets list, so a collector that is not configured is one line saying so
// and is never asked (its JSON paths answer 404, which the browser would log as an
// error at every refresh); one that is down shows its last error instead of its data.
'use strict';

(() => {
  const NOT_CONFIGURED = {
    postgres: 'PostgreSQL: not configured (collectors.postgres in the configuration file).',
    redis: 'Redis: not configured (collectors.redis in the configuration file).',
    node: 'Host: not configured (collectors.host.enabled is false).',
  };
  const num = (text) => ({text, num: true});
  const mib = (bytes) => `${TG.fmt.num(bytes / 1048576)} MiB`;
  const instanceQuery = (t) => `instance=${encodeURIComponent(t.labels.instance)}`;

  // An instant query -> Map(instance -> value), every instance at once.
  const byInstance = async (expr) =>
    new Map((await TG.q.vector(expr)).map((s) => [s.metric.instance, s.value]));

  const down = (t) => TG.el('p', {class: 'bad', 'data-key': t.labels.instance},
    `${t.labels.instance}: down${t.lastError ? ` (${t.lastError})` : ''}`);

  function slowTable(slow) {
    if (slow === null)
      return TG.ui.empty('pg_stat_statements is not available: no statement times.');
    if (!slow.length) return TG.ui.empty('No statement recorded yet.');
    return TG.ui.table(['slowest statements (mean)', num('calls'), num('avg'), num('max')],
      slow.map((s, i) => ({attrs: {'data-key': String(i)}, cells: [
        {text: s.query.length > 80 ? `${s.query.slice(0, 80)}…` : s.query, title: s.query,
         class: 'mono'},
        num(TG.fmt.num(s.calls)), num(TG.fmt.ms(s.avg_ms)), num(TG.fmt.ms(s.max_ms))]})));
  }

  // `pg`: what the PromQL side knows of every instance (statements available, hit ratio).
  async function postgres(t, pg) {
    const q = instanceQuery(t);
    const inst = t.labels.instance;
    const [conn, locks] = await Promise.all([
      TG.api(`/api/v1/monitoring/database/connections?${q}`),
      TG.api(`/api/v1/monitoring/database/locks?${q}`)]);
    // Only asked when the extension was read: without it the answer is a 503.
    const slow = pg.statements.get(inst) === 1
      ? (await TG.api(`/api/v1/monitoring/database/slow-queries?min_mean_ms=0&limit=5&${q}`))
        .queries
      : null;
    const by = new Map(conn.by_state.map((s) => [s.state, s]));
    const longest = (s) => (by.get(s) ? `${TG.fmt.num(by.get(s).max_duration_s)} s` : '–');
    return TG.el('div', {'data-key': inst, 'data-collector': `postgres ${inst}`},
      TG.el('h3', {}, inst),
      TG.ui.kv([
        ['connections', `${conn.total} of ${conn.max_connections} ` +
                        `(${TG.fmt.pct(conn.usage_ratio)})`],
        ['longest active', longest('active')],
        ['longest idle in transaction', longest('idle in transaction')],
        ['waiting locks', String(locks.waiting.length)],
        ['cache hit ratio', TG.fmt.pct(pg.hits.get(inst))]]),
      TG.ui.table(['state', num('connections'), num('longest (s)')],
        conn.by_state.map((s) => ({attrs: {'data-key': s.state}, cells: [
          s.state, num(String(s.connections)), num(TG.fmt.num(s.max_duration_s))]}))),
      slowTable(slow));
  }

  async function redis(t) {
    const r = await TG.api(`/api/v1/monitoring/redis/info?${instanceQuery(t)}`);
    const {memory: m, keyspace: k, clients: c} = r;
    const max = m.max_bytes ? ` of ${mib(m.max_bytes)} (${TG.fmt.pct(m.used_ratio)})`
                            : ' (no maxmemory)';
    return TG.el('div', {'data-key': t.labels.instance, 'data-collector': `redis ${r.instance}`},
      TG.el('h3', {}, `${r.instance} (${r.role} ${r.version})`),
      TG.ui.kv([
        ['ops/s', TG.fmt.num(r.ops_per_sec)],
        ['clients', `${TG.fmt.num(c.connected)} connected, ${TG.fmt.num(c.blocked)} blocked, ` +
                    `${TG.fmt.num(c.rejected_connections)} rejected`],
        ['memory', `${mib(m.used_bytes)}${max}, policy ${m.policy}, ` +
                   `fragmentation ${TG.fmt.num(m.fragmentation_ratio)}`],
        ['hit rate', k.hit_rate === null ? 'no lookup yet' : TG.fmt.pct(k.hit_rate)],
        ['keys', `${TG.fmt.num(k.keys)} (${TG.fmt.num(k.expiring)} expiring), ` +
                 `${TG.fmt.num(k.evicted)} evicted, ${TG.fmt.num(k.expired)} expired`],
        ['uptime', `${TG.fmt.num(r.uptime_s / 3600)} h`]]));
  }

  // The host's figures now, one instant query each for every instance.
  async function host(targets) {
    const [cpu, mem, cores, l1, l5, l15] = await Promise.all([
      byInstance('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m]))'),
      byInstance('1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes'),
      byInstance('count by (instance) (node_cpu_seconds_total{mode="idle"})'),
      byInstance('node_load1'), byInstance('node_load5'), byInstance('node_load15')]);
    return targets.map((t) => {
      const i = t.labels.instance;
      if (t.health === 'down') return down(t);
      const load = [l1, l5, l15].map((m) => TG.fmt.num(m.get(i))).join(' / ');
      const busy = cpu.get(i);
      return TG.el('div', {'data-key': i, 'data-collector': `node ${i}`},
        TG.el('h3', {}, i),
        TG.ui.kv([
          ['CPU busy', TG.el('span', {class: busy >= 0.8 ? 'bad' : null}, TG.fmt.pct(busy))],
          ['memory used', TG.fmt.pct(mem.get(i))],
          ['load 1 / 5 / 15', `${load}${cores.get(i) ? ` on ${cores.get(i)} CPUs` : ''}`]]));
    });
  }

  // What PromQL knows of the PostgreSQL targets; an empty answer when it cannot say.
  async function pgSeries() {
    try {
      const [statements, hits] = await Promise.all([
        byInstance('pg_stat_statements_available'),
        byInstance('sum by (instance) (pg_stat_database_blks_hit) / (sum by (instance) ' +
                   '(pg_stat_database_blks_hit) + sum by (instance) (pg_stat_database_blks_read))'),
      ]);
      return {statements, hits};
    } catch (e) {
      return {statements: new Map(), hits: new Map()};
    }
  }

  // collectorPanels(container) -> {update(targetsPromise) -> error or null, destroy()}.
  function collectorPanels(container) {
    const cards = {
      postgres: TG.ui.card(container, 'PostgreSQL', {id: 'collector-postgres'}),
      redis: TG.ui.card(container, 'Redis', {id: 'collector-redis'}),
      node: TG.ui.card(container, 'Host', {id: 'collector-host'}),
    };
    const hostChart = TG.timeChart(cards.node.el, {id: 'upstreams-host', unit: 'ratio',
                                                   height: 160});
    const perTarget = (fn) => (mine) =>
      Promise.all(mine.map((t) => (t.health === 'down' ? down(t) : fn(t))));

    // A 404 means the collector is not configured after all (a reload removed it).
    function panel(kind, mine, render) {
      const c = cards[kind];
      return TG.ui.load(c, async () => {
        let body = TG.ui.empty(NOT_CONFIGURED[kind]);
        try {
          if (mine.length) body = await render(mine);
        } catch (e) {
          if (!(e instanceof TG.ApiError && e.status === 404)) throw e;
        }
        TG.ui.render(c.body, body);
      });
    }

    const hostRange = () => TG.q.rangeInto(hostChart, [
      {expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}' +
             '[$__rate_interval]))', label: (m) => `CPU ${m.instance}`},
      {expr: '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes',
       label: (m) => `memory ${m.instance}`}]);

    async function update(targetsP) {
      const targets = await targetsP;
      if (!targets) return null;
      const of = (kind) => targets.filter((t) => t.scrapePool === kind);
      hostChart.el.hidden = !of('node').length;
      const pg = of('postgres').length ? await pgSeries() : null;
      const errors = (await Promise.all([
        panel('postgres', of('postgres'), perTarget((t) => postgres(t, pg))),
        panel('redis', of('redis'), perTarget(redis)),
        // The host's chart fails or succeeds with its panel: one card, one note.
        panel('node', of('node'),
              async (mine) => (await Promise.all([host(mine), hostRange()]))[0]),
      ])).filter(Boolean);
      return errors[0] || null;
    }

    return {update, destroy: () => hostChart.destroy()};
  }

  TG.collectorPanels = collectorPanels;
})();
