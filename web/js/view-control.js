// SPDX-License-Identifier: MIT
// The control view (#/control): the runbooks' mitigations as forms on the control API
// (docs/api.md "Control"), each showing the effective values from GET
// /api/v1/system/config (and the autoscaler's, playbooks' and upstreams' own GETs) and
// sending only what was changed; then the overrides in force, each with a button that
// drops it, and the recent audit log. The forms themselves (changes, errors, audit entry,
// confirmation) are forms.js; this file says which forms there are and where their values
// come from.
'use strict';

(() => {
  const el = (...a) => TG.el(...a);
  const S = '/api/v1/system';
  const bool = (name, label, help) => ({name, label, type: 'bool', help});
  const int = (name, label, help, placeholder) => ({name, label, type: 'int', help, placeholder});
  const num = (name, label, help) => ({name, label, type: 'num', help});
  const enm = (name, label, options, help) => ({name, label, type: 'enum', options, help});

  // The breaker's "applies to" choice, as the body's `upstream` or `route` field.
  function scopeOf(value) {
    const [kind, ...rest] = (value || '').split(':');
    return kind === 'upstream' || kind === 'route' ? {[kind]: rest.join(':')} : {};
  }

  // Each form: `fields` named as the API's body fields (`local` ones only steer the
  // form), `prefix` of their settings in GET /api/v1/system/config, or `current(ctx)` for
  // values found elsewhere; `status(ctx)` a line of live state. A settings form sends the
  // fields changed (plus `target`); an `action` form sends what is filled in (through
  // `body`), after `check`. `confirm` is the question asked before a destructive call.
  const FORMS = [
    {id: 'circuit-breaker', title: 'Circuit breaker', method: 'PUT', path: `${S}/circuit-breaker`,
     what: 'Fail fast instead of waiting on a slow or failing upstream.',
     fields: [enm('scope', 'Applies to', []), bool('enabled', 'enabled'),
              int('timeout_ms', 'timeout (ms)', 'slower calls count as failures and are cut'),
              num('failure_threshold', 'failure threshold (0–1)'),
              int('recovery_time', 'recovery time (s)', 'open before probing'),
              int('min_requests', 'min requests'), int('window_seconds', 'window (s)'),
              int('window_requests', 'window (requests, 0: time-based)'),
              int('half_open_requests', 'half-open probes'),
              num('latency_factor', 'latency factor (routes; 0: off)')],
     local: ['scope'],
     prefix: (form) => {
       const s = scopeOf(form.values().scope);
       return s.upstream ? `upstreams[${s.upstream}].circuit_breaker.`
         : s.route ? `routes[${s.route}].circuit_breaker.` : 'circuit_breaker.';
     },
     fallbackPrefix: 'circuit_breaker.',
     target: (form) => scopeOf(form.values().scope),
     alias: {upstream: 'scope', route: 'scope'}},
    {id: 'timeouts', title: 'Timeouts', method: 'PUT', path: `${S}/timeouts`,
     what: 'Upstream response deadlines by route class; a try past per-try is retried.',
     fields: [int('default_ms', 'default (ms)'), int('critical_ms', 'critical (ms)'),
              int('per_try_ms', 'per try (ms, 0: none)')],
     prefix: () => 'timeouts.'},
    {id: 'rate-limit', title: 'Rate limit', method: 'PUT', path: `${S}/rate-limit`,
     what: 'Refuse excess traffic with 429 before it reaches the API.',
     fields: [bool('enabled', 'enabled'),
              int('requests_per_second', 'requests per second'),
              int('requests_per_minute', 'requests per minute',
                  'or per second: the one set last wins'),
              int('burst', 'burst'),
              enm('per', 'budget', [['global', 'global'], ['client_ip', 'per client address'],
                                    ['route', 'per route']]),
              bool('dry_run', 'dry run (count, refuse nothing)')],
     prefix: () => 'rate_limit.'},
    {id: 'features', title: 'Features', method: 'POST',
     path: (button) => `${S}/features/${button.value}`,
     what: 'Shed non-critical features: their routes answer 503 without touching the API.',
     fields: [{name: 'features', label: 'features', type: 'list',
               placeholder: 'analytics, recommendations'}],
     buttons: [{label: 'Disable', value: 'disable', class: 'danger'},
               {label: 'Enable', value: 'enable'}],
     action: true,
     check: (v) => !v.features && ['features', 'name at least one feature'],
     confirm: (body, ctx, button) => (button.value === 'disable'
       ? `Disable ${body.features.join(', ')}? Their routes will answer 503.` : null),
     current: () => ({features: null}),
     status: (ctx) => {
       const d = ctx.value('features.disabled') || [];
       return d.length ? `Disabled now: ${d.join(', ')}` : 'No feature is disabled.';
     }},
    {id: 'fallback', title: 'Fallback', method: 'PUT', path: `${S}/fallback`,
     what: 'Answer failed GETs with the last good response.',
     fields: [bool('enabled', 'enabled'), int('cache_ttl', 'oldest answer served (s)')],
     prefix: () => 'fallback.'},
    {id: 'tracing', title: 'Tracing', method: 'PUT', path: `${S}/tracing`,
     what: 'Keep per-request phase timings (slow and failed requests always).',
     fields: [bool('enabled', 'enabled'), num('sample_rate', 'sample rate (0–1)')],
     prefix: () => 'tracing.'},
    {id: 'workers', title: 'Workers', method: 'PUT', path: `${S}/workers`,
     what: 'Proxy worker threads, changed live; connections are handed over, not reset.',
     fields: [int('count', 'worker threads (1–256)')],
     current: (ctx) => ({count: ctx.workers}),
     notes: (ctx) => ({count: ctx.note('workers')}),
     confirm: (body, ctx) => `Change the worker threads from ${ctx.workers} to ${body.count}?`},
    {id: 'autoscale', title: 'Autoscale', method: 'PUT', path: `${S}/autoscale`,
     what: 'Add upstream instances while latency stays high, remove them when it is low.',
     fields: [bool('enabled', 'enabled'), enm('signal', 'signal', [['p95', 'p95'], ['p99', 'p99']]),
              int('latency_threshold_ms', 'threshold (ms)'), int('up_after', 'up after (checks)'),
              int('down_after', 'down after (checks)'), int('min', 'min instances'),
              int('max', 'max instances'), num('check_interval_s', 'check every (s)'),
              num('cooldown_s', 'cooldown (s)'), num('window_s', 'window (s)'),
              enm('upstream', 'upstream', []), bool('dry_run', 'dry run (decide, never act)')],
     prefix: () => 'autoscale.',
     status: (ctx) => {
       const st = ctx.autoscale && ctx.autoscale.state;
       if (!st) return '';
       const d = st.last_decision;
       return `${st.upstream}: ${st.instances} instances (desired ${st.desired})` +
              (d ? ` · last check: ${d.verdict}${d.reason ? ` (${d.reason})` : ''}` : '');
     }},
    {id: 'playbooks', title: 'Playbooks', method: 'PUT', path: `${S}/playbooks`,
     what: 'Automatic mitigation; switching it off is the kill switch.',
     fields: [bool('enabled', 'enabled (off: no automatic action)'),
              bool('dry_run', 'dry run (decide, send nothing)')],
     prefix: () => 'playbooks.',
     status: (ctx) => (ctx.playbooks && ctx.playbooks.rules
       ? `Rules: ${ctx.playbooks.rules.map((r) => `${r.name} (${r.mode})`).join(', ')}` : '')},
    {id: 'eject', title: 'Eject a server', method: 'POST', path: `${S}/upstreams/eject`,
     what: 'Take one upstream server out of rotation for a while; it comes back slowly.',
     fields: [enm('server', 'server', []),
              int('duration_s', 'for (s, 1–3600)', null, '300')],
     current: () => ({server: null, duration_s: null}),
     action: true,
     check: (v) => !v.server && ['server', 'choose a server'],
     body: (v) => {
       const [upstream, server] = (v.server || '').split('|');
       return {upstream, server, ...(v.duration_s !== null ? {duration_s: v.duration_s} : {})};
     },
     alias: {upstream: 'server'},
     confirm: (body) => `Take ${body.server} out of ${body.upstream} for ` +
                        `${body.duration_s || 300} s?`},
  ];

  // What the forms read, gathered once per refresh. Only the configuration is needed;
  // the other answers fill in what they can.
  async function load() {
    const get = (p) => TG.api(p);
    const [config, audit, health, threads, playbooks, autoscale, stats] = await Promise.allSettled([
      get(`${S}/config`), get(`${S}/audit?limit=20`), get('/health/detailed'),
      get('/api/v1/monitoring/threads'), get(`${S}/playbooks`), get(`${S}/autoscale`),
      get('/api/v1/monitoring/endpoints/stats?window=15m'),
    ]);
    if (config.status === 'rejected') throw config.reason;
    const ok = (r) => (r.status === 'fulfilled' ? r.value : null);
    const settings = new Map(config.value.settings.map((s) => [s.key, s]));
    const servers = ((ok(health) || {}).upstreams || []);
    // Route names: those with settings of their own, and those with traffic (an endpoint
    // named like a path is a template, not a route).
    const routes = new Set([...settings.keys()].map((k) => /^routes\[(.+?)\]\./.exec(k))
      .filter(Boolean).map((m) => m[1]));
    for (const e of ((ok(stats) || {}).endpoints || []))
      if (!e.endpoint.startsWith('/') && e.endpoint !== 'other' && !e.endpoint.startsWith('('))
        routes.add(e.endpoint);
    return {
      settings, servers, audit: ok(audit), playbooks: ok(playbooks), autoscale: ok(autoscale),
      upstreams: [...new Set(servers.map((s) => s.upstream))],
      routes: [...routes].sort(),
      workers: (ok(threads) || {}).workers,
      overrides: config.value.settings.filter((s) => s.layer === 'override'),
      value: (key) => (settings.has(key) ? settings.get(key).value : null),
      // Where a value comes from, when it is not the built-in default.
      note: (key) => {
        const s = settings.get(key);
        if (!s || s.layer === 'default') return '';
        if (s.layer === 'flag') return 'set by a command-line flag';
        return s.layer === 'override' ? `override by ${s.set_by || '?'}` : 'from the file';
      },
    };
  }

  // {values, notes} of a form: its settings (a breaker's own, else the global section's),
  // and where each comes from.
  function currentValues(def, form, ctx) {
    if (def.current) return {values: def.current(ctx), notes: def.notes ? def.notes(ctx) : {}};
    const prefix = def.prefix(form);
    const values = {};
    const notes = {};
    for (const f of def.fields) {
      if ((def.local || []).includes(f.name)) {
        values[f.name] = form.values()[f.name];
        continue;
      }
      const own = prefix + f.name;
      const key = ctx.settings.has(own) || !def.fallbackPrefix ? own : def.fallbackPrefix + f.name;
      values[f.name] = ctx.value(key);
      notes[f.name] = ctx.note(key);
    }
    return {values, notes};
  }

  function mount(root) {
    let ctx = null;
    const forms = new Map();
    const tokenLine = el('p', {class: 'token-line muted'});
    const overrides = el('div', {class: 'table-wrap'});
    const overridesResult = el('div', {class: 'form-result', 'aria-live': 'polite'});
    const log = el('div', {class: 'table-wrap'});

    function fill(def, form, force) {
      const {values, notes} = currentValues(def, form, ctx);
      form.set(values, {force, notes});
      if (def.status) form.status(def.status(ctx));
    }

    // A form's options that depend on what runs (upstreams, servers, routes).
    function options() {
      const b = forms.get('circuit-breaker');
      b.setOptions('scope', [['', 'global (every upstream)'],
        ...ctx.upstreams.map((u) => [`upstream:${u}`, `upstream ${u}`]),
        ...ctx.routes.map((r) => [`route:${r}`, `route ${r}`])]);
      forms.get('autoscale').setOptions('upstream', [['', '(the default upstream)'],
        ...ctx.upstreams.map((u) => [u, u])]);
      forms.get('eject').setOptions('server', [['', 'choose a server'],
        ...ctx.servers.map((s) => [`${s.upstream}|${s.server}`,
                                   `${s.upstream} · ${s.server} (${s.state})`])]);
    }

    async function submit(def, form, button) {
      const path = typeof def.path === 'function' ? def.path(button) : def.path;
      const method = def.method;
      let body;
      if (def.action) {
        const v = form.values();
        const bad = def.check && def.check(v);
        if (bad) {
          form.fieldError(...bad);
          return;
        }
        body = def.body ? def.body(v) : v;
      } else {
        const changed = form.changed();
        for (const k of def.local || []) delete changed[k];
        if (!Object.keys(changed).length) {
          form.message('Nothing to apply: change a value first.');
          return;
        }
        body = {...(def.target ? def.target(form) : {}), ...changed};
      }
      const question = def.confirm && def.confirm(body, ctx, button);
      if (question && !(await TG.confirmAction(def.title, question, 'Yes, apply'))) return;
      form.busy(true);
      try {
        await TG.send(method, path, body);
      } catch (err) {
        TG.showFailure(form, err, def.alias);
        return;
      } finally {
        form.busy(false);
      }
      await applied(form, `${method} ${path}`);
      try {
        ctx = await load();
        fill(def, form, true);
        render();
      } catch (err) {
        TG.notify(`reading the new values failed: ${err.message}`, 'error');
      }
    }

    // After a change: its audit entry where the user clicked.
    async function applied(target, action) {
      let entry = null;
      try { entry = await TG.auditOf(action); } catch (e) { entry = null; }
      const content = entry ? [el('p', {}, 'Applied. Audit entry:'), TG.auditEntry(entry)]
        : 'Applied; its audit entry is not among the last five (see the log below).';
      if (target.message) target.message(content, 'ok');
      else TG.clear(target, el('div', {class: 'form-message ok', role: 'status'}, content));
    }

    async function drop(key) {
      const action = `DELETE ${S}/overrides/${key}`;
      try {
        await TG.send('DELETE', `${S}/overrides/${encodeURIComponent(key)}`);
      } catch (err) {
        TG.clear(overridesResult, el('div', {class: 'form-message error', role: 'alert'},
          err.status === 401 ? 'token needed or wrong' : err.message));
        return;
      }
      await applied(overridesResult, action);
      await update();
    }

    function render() {
      tokenLine.textContent = TG.token()
        ? 'Calls are sent with the token saved in this browser.'
        : 'No token saved in this browser: calls are refused (401) when the gateway has one.';
      TG.clear(overrides, ctx.overrides.length ? el('table', {id: 'overrides-table'},
        el('thead', {}, el('tr', {}, ['setting', 'value', 'set by', 'set at', ''].map(
          (h) => el('th', {}, h)))),
        el('tbody', {}, ctx.overrides.map((s) => el('tr', {'data-setting': s.key},
          el('td', {class: 'mono'}, s.key), el('td', {class: 'mono'}, JSON.stringify(s.value)),
          el('td', {}, s.set_by || ''), el('td', {}, TG.fmt.date(s.set_at)),
          el('td', {}, el('button', {type: 'button', class: 'drop',
                                     'aria-label': `drop the override of ${s.key}`,
                                     on: {click: () => drop(s.key)}}, 'drop'))))))
        : el('p', {class: 'muted'}, 'None: every setting is the file\'s or the default.'));
      const entries = (ctx.audit && ctx.audit.entries) || [];
      TG.clear(log, entries.length ? el('table', {id: 'audit-table'},
        el('thead', {}, el('tr', {}, ['#', 'time', 'actor', 'action', 'target', 'change',
                                      'result'].map((h) => el('th', {}, h)))),
        el('tbody', {}, entries.map((e) => el('tr', {class: 'audit-row', 'data-audit-id': e.id},
          el('td', {class: 'num'}, e.id), el('td', {}, TG.fmt.date(e.time)),
          el('td', {}, e.actor), el('td', {class: 'mono'}, e.action),
          el('td', {class: 'mono'}, e.target),
          el('td', {}, el('ul', {class: 'audit-changes'}, TG.auditChanges(e))),
          el('td', {class: e.result === 'ok' ? 'ok' : 'bad'}, e.result)))))
        : el('p', {class: 'muted'}, 'No change recorded yet.'));
    }

    const grid = el('div', {class: 'control-grid'});
    for (const def of FORMS) {
      const form = TG.controlForm({...def, onSubmit: (f, button) => submit(def, f, button)});
      forms.set(def.id, form);
      grid.append(form.el);
    }
    // The breaker's values are another section's when its scope changes.
    forms.get('circuit-breaker').controls.scope.addEventListener('change', () => {
      if (ctx) fill(FORMS[0], forms.get('circuit-breaker'), true);
    });

    root.append(
      el('h1', {}, 'Control'),
      el('div', {class: 'token-bar'}, tokenLine,
         el('button', {type: 'button', on: {click: () => document.getElementById('token').click()}},
            'Set token')),
      grid,
      el('section', {class: 'card', id: 'overrides'}, el('h2', {}, 'Overrides in force'),
         el('p', {class: 'muted'}, 'Changes made here or by playbooks; dropping one goes ' +
                                   'back to the file\'s value.'),
         overrides, overridesResult),
      el('section', {class: 'card', id: 'audit'}, el('h2', {}, 'Recent changes'), log));

    async function update() {
      ctx = await load();
      options();
      for (const def of FORMS) fill(def, forms.get(def.id), false);
      render();
    }
    return {update};
  }

  TG.view('control', {title: 'Control', mount});
})();
