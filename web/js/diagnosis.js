// SPDX-License-Identifier: MIT
// A diagnosis (GET /api/v1/monitoring/diagnosis, or the one attached to an incident) as
// the runbooks' decision tree reads: is anything degraded, where (scope, the affected
// endpoints against their targets and baselines), how it started (pattern, onset), why
// (causes with confidence and evidence, correlations), what to check next and which
// control calls would mitigate it. Used by the alerts view for both.
'use strict';

(() => {
  const num = (text) => ({text, num: true});

  function affected(list) {
    return TG.ui.table(['endpoint', 'method', num('p95'), num('p99'), num('target'),
                        num('baseline p95'), num('req/s'), num('errors')],
      list.map((e) => ({
        attrs: {'data-key': `${e.method} ${e.endpoint}`},
        cells: [TG.el('a', {href: TG.ui.endpointHref(e.endpoint, e.method)}, e.endpoint),
                e.method,
                {...num(TG.fmt.ms(e.p95_ms)), class: e.p95_ms > e.target_ms ? 'bad' : null},
                num(TG.fmt.ms(e.p99_ms)), num(TG.fmt.ms(e.target_ms)),
                num(TG.fmt.ms(e.baseline_p95_ms)), num(TG.fmt.rate(e.rps)),
                num(TG.fmt.pct(e.error_rate))],
      })));
  }

  const evidence = (list) => (list && list.length
    ? TG.el('ul', {class: 'evidence'}, list.map((x) => TG.el('li', {}, String(x)))) : null);

  function cause(c) {
    return TG.el('li', {'data-key': c.cause, 'data-cause': c.cause},
      TG.el('div', {class: 'row-head'}, TG.el('strong', {}, c.cause),
            TG.el('span', {class: 'muted'}, `confidence ${TG.fmt.pct(c.confidence)}`)),
      evidence(c.evidence));
  }

  function mitigation(m, i) {
    return TG.el('li', {'data-key': `${i} ${m.op}`, 'data-mitigation': m.op},
      TG.el('div', {class: 'row-head'}, TG.ui.badge(m.op),
            TG.el('code', {}, `${m.method} ${m.path}`)),
      m.body === undefined || m.body === null ? null : TG.el('pre', {}, JSON.stringify(m.body)),
      m.why ? TG.el('div', {class: 'muted'}, m.why) : null);
  }

  // A titled part, left out when its list is empty.
  const part = (title, list, render) => (list && list.length
    ? [TG.el('h3', {}, title), render(list)] : null);

  // diagnosis(d) -> a node; d null gives a one-line note.
  function diagnosis(d) {
    if (!d) return TG.ui.empty('No diagnosis attached.');
    const req = d.requests || {};
    const period = d.period_s ? ` (every ${TG.fmt.num(d.period_s)} s)` : '';
    return TG.el('div', {class: 'diagnosis', 'data-degraded': String(!!d.degraded)},
      TG.ui.kv([
        ['degraded', TG.ui.state(d.degraded ? 'degraded' : 'not degraded')],
        ['severity', d.severity || '–'],
        ['scope', d.scope],
        ['pattern', `${d.pattern}${period}${d.pattern_evidence ? `: ${d.pattern_evidence}` : ''}`],
        ['onset', d.onset ? TG.fmt.date(d.onset) : '–'],
        d.categories && d.categories.length ? ['categories', d.categories.join(', ')] : null,
        ['traffic', `${TG.fmt.rate(req.rps)} (baseline ${TG.fmt.rate(req.baseline_rps)}), ` +
                    `errors ${TG.fmt.pct(req.error_rate)}, timeouts ${TG.fmt.rate(req.timeouts)}`],
        ['window', `${TG.fmt.num(d.window_s)} s against ${TG.fmt.num(d.baseline_s)} s before, ` +
                   `at ${TG.fmt.date(d.at)}`]]),
      part('Affected endpoints', d.affected, affected),
      part('Causes', d.causes, (l) => TG.el('ul', {class: 'items'}, l.map(cause))),
      part('Correlations', d.correlations, (l) => TG.el('ul', {class: 'items'},
        l.map((c, i) => TG.el('li', {'data-key': `${i} ${c.kind}`},
                              TG.el('strong', {}, c.kind), ` ${c.evidence || ''}`)))),
      part('Checks, in order', d.checks,
           (l) => TG.el('ol', {class: 'checks'}, l.map((c) => TG.el('li', {}, c)))),
      part('Suggested mitigations', d.suggested_mitigations,
           (l) => TG.el('ul', {class: 'items'}, l.map(mitigation))));
  }

  TG.diagnosis = diagnosis;
})();
