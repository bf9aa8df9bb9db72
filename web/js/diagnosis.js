// SPDX-License-Identifier: MIT
// A diagnosis (GET /api/v1/monitoring/diagnosis, or the one attached to an incident) as
// the runbooks' decision tree reads: is anything degraded, where (scope, the affected
// endpoints against their targets and baselines), how it started (pattern, onset), why
// (causes with confidence and evidence, correlations), what to check next and which
// control calls would mitigate it. Used by the alerts view for both.
'use strict';

(() => {
  const endpointLink = (e) => TG.el('a', {
    href: `#/endpoint/${encodeURIComponent(e.endpoint)}?method=${encodeURIComponent(e.method)}`},
  e.endpoint);

  function affected(list) {
    return TG.ui.table(['endpoint', 'method', {text: 'p95', num: true}, {text: 'p99', num: true},
                        {text: 'target', num: true}, {text: 'baseline p95', num: true},
                        {text: 'req/s', num: true}, {text: 'errors', num: true}],
      list.map((e) => ({attrs: {'data-key': `${e.method} ${e.endpoint}`},
        cells: [endpointLink(e), e.method,
                {text: TG.fmt.ms(e.p95_ms), num: true, class: e.p95_ms > e.target_ms ? 'num bad' : null},
                {text: TG.fmt.ms(e.p99_ms), num: true}, {text: TG.fmt.ms(e.target_ms), num: true},
                {text: TG.fmt.ms(e.baseline_p95_ms), num: true}, {text: TG.fmt.rate(e.rps), num: true},
                {text: TG.fmt.pct(e.error_rate), num: true}]})));
  }

  const evidence = (list) => (list && list.length
    ? TG.el('ul', {class: 'evidence'}, list.map((x) => TG.el('li', {}, String(x)))) : null);

  function mitigation(m, i) {
    return TG.el('li', {'data-key': `${i} ${m.op}`, 'data-mitigation': m.op},
      TG.el('div', {class: 'row-head'}, TG.ui.badge(m.op), TG.el('code', {}, `${m.method} ${m.path}`)),
      m.body !== undefined && m.body !== null ? TG.el('pre', {}, JSON.stringify(m.body)) : null,
      m.why ? TG.el('div', {class: 'muted'}, m.why) : null);
  }

  // diagnosis(d) -> a node; d null gives a one-line note.
  function diagnosis(d) {
    if (!d) return TG.ui.empty('No diagnosis attached.');
    const req = d.requests || {};
    return TG.el('div', {class: 'diagnosis', 'data-degraded': String(!!d.degraded)},
      TG.ui.kv([
        ['degraded', TG.ui.state(d.degraded ? 'degraded' : 'not degraded')],
        ['severity', d.severity || '–'],
        ['scope', d.scope],
        ['pattern', `${d.pattern}${d.period_s ? ` (every ${TG.fmt.num(d.period_s)} s)` : ''}` +
                    `${d.pattern_evidence ? `: ${d.pattern_evidence}` : ''}`],
        ['onset', d.onset ? TG.fmt.date(d.onset) : '–'],
        d.categories && d.categories.length ? ['categories', d.categories.join(', ')] : null,
        ['traffic', `${TG.fmt.rate(req.rps)} (baseline ${TG.fmt.rate(req.baseline_rps)}), ` +
                    `errors ${TG.fmt.pct(req.error_rate)}, timeouts ${TG.fmt.rate(req.timeouts)}`],
        ['window', `${TG.fmt.num(d.window_s)} s against ${TG.fmt.num(d.baseline_s)} s before, at ${TG.fmt.date(d.at)}`]]),
      d.affected && d.affected.length ? [TG.el('h3', {}, 'Affected endpoints'), affected(d.affected)] : null,
      d.causes && d.causes.length ? [TG.el('h3', {}, 'Causes'), TG.el('ul', {class: 'items'},
        d.causes.map((c) => TG.el('li', {'data-key': c.cause, 'data-cause': c.cause},
          TG.el('div', {class: 'row-head'}, TG.el('strong', {}, c.cause),
                TG.el('span', {class: 'muted'}, `confidence ${TG.fmt.pct(c.confidence)}`)),
          evidence(c.evidence))))] : null,
      d.correlations && d.correlations.length ? [TG.el('h3', {}, 'Correlations'), TG.el('ul', {class: 'items'},
        d.correlations.map((c, i) => TG.el('li', {'data-key': `${i} ${c.kind}`},
          TG.el('strong', {}, c.kind), ` ${c.evidence || ''}`)))] : null,
      d.checks && d.checks.length ? [TG.el('h3', {}, 'Checks, in order'),
        TG.el('ol', {class: 'checks'}, d.checks.map((c) => TG.el('li', {}, c)))] : null,
      d.suggested_mitigations && d.suggested_mitigations.length
        ? [TG.el('h3', {}, 'Suggested mitigations'),
           TG.el('ul', {class: 'items'}, d.suggested_mitigations.map(mitigation))] : null);
  }

  TG.diagnosis = diagnosis;
})();
