// SPDX-License-Identifier: MIT
// PromQL for the monitoring views, `TG.q`: label matchers written safely from any
// endpoint name, the rate window that fits a chart's step, and range queries into a
// chart whose series keep their names even before any data exists (a test, or an
// operator comparing two refreshes, can rely on a chart's p50/p95/p99 being there).
'use strict';

(() => {
  // A PromQL string literal. JSON's escapes (\" \\ \n \uXXXX) are also Go's, which is
  // what PromQL strings follow, so any endpoint name is matched exactly.
  const str = (v) => JSON.stringify(String(v));

  // {endpoint: '/a', method: 'GET'} -> 'endpoint="/a",method="GET"'; a value starting
  // with '!' is a negative matcher ('!(rejected)' -> endpoint!="(rejected)").
  function matchers(obj) {
    return Object.entries(obj)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => (String(v).startsWith('!') ? `${k}!=${str(String(v).slice(1))}`
                                                  : `${k}=${str(v)}`))
      .join(',');
  }

  // The self-scrape's interval, read once from the targets list: a rate needs at least
  // a few samples in its window or it shows gaps that are not in the traffic.
  let scrapeS = null;
  async function scrapeInterval() {
    if (scrapeS === null) {
      try {
        const d = await TG.api('/api/v1/targets?scrapePool=tailguard');
        const t = ((d && d.data && d.data.activeTargets) || [])[0];
        scrapeS = (t && TG.parseDuration(t.scrapeInterval)) || 5;
      } catch (e) {
        scrapeS = 5;
      }
    }
    return scrapeS;
  }

  // Grafana's $__rate_interval: four scrapes, or one step plus a scrape, whichever is
  // longer, so consecutive points overlap and no request falls between two windows.
  async function rateWindow(step) {
    const s = await scrapeInterval();
    return `${Math.ceil(Math.max(4 * s, step + s))}s`;
  }

  // histogram_quantile over a histogram family, summed by `le` and `by`, in ms.
  function quantileMs(q, family, sel, by = []) {
    const group = ['le', ...by].join(', ');
    return `histogram_quantile(${q}, sum by (${group}) ` +
           `(rate(${family}_bucket{${sel}}[$__rate_interval]))) * 1000`;
  }

  // Range queries over the picker's range into `chart`: [{expr, label}], where `expr`
  // may use $__rate_interval and `label` is a series name (kept, with no points, when the
  // query returns nothing) or a function of a series' labels.
  async function rangeInto(chart, queries, points) {
    const r = await TG.range(points);
    const w = await rateWindow(r.step);
    const answers = await Promise.all(queries.map(
      (q) => TG.prom.range(q.expr.replaceAll('$__rate_interval', w), r.start, r.end, r.step)));
    const result = [];
    const names = [];
    answers.forEach((a, i) => {
      const {label} = queries[i];
      const series = (a && a.result) || [];
      if (!series.length && typeof label === 'string') {
        result.push({metric: {}, values: []});
        names.push(label);
      }
      for (const s of series) {
        result.push(s);
        names.push(typeof label === 'function' ? label(s.metric)
                                               : label || TG.seriesName(s.metric));
      }
    });
    const {columns} = TG.matrixToColumns(result);
    chart.setData(columns, names);
    return {columns, labels: names, range: r};
  }

  // An instant query -> [{metric, value: Number}] (NaN where Prometheus says NaN).
  async function vector(expr, time) {
    const d = await TG.prom.query(expr, time);
    return ((d && d.result) || []).map((s) => ({metric: s.metric, value: Number(s.value[1])}));
  }

  TG.q = {str, matchers, scrapeInterval, rateWindow, quantileMs, rangeInto, vector};
})();
