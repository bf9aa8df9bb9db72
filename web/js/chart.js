// SPDX-License-Identifier: MIT
// Time-series charts over the Prometheus HTTP API: uPlot does the drawing (it keeps up
// with many points and repaints cheaply on every poll); this file turns query answers
// into its aligned columns, follows the container's size and the light/dark theme, and
// draws the small inline sparklines of tables as plain SVG (a chart object per table row
// would cost more than the row).
'use strict';

(() => {
  const PALETTE = ['#2f7ed8', '#e4572e', '#17a398', '#f3a712', '#8e5ad6', '#d6336c',
                   '#5c946e', '#3d5a80', '#b08968', '#6c757d'];
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  // Prometheus matrix results -> {columns: [xs, ys...], labels: [...]}: one x axis, the
  // union of every series' timestamps, with null where a series has no sample (uPlot
  // leaves a gap there rather than drawing a line through missing data).
  function matrixToColumns(result, labelOf) {
    const xs = [...new Set(result.flatMap((s) => s.values.map((v) => Number(v[0]))))]
      .sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const columns = [xs];
    const labels = [];
    for (const s of result) {
      const ys = new Array(xs.length).fill(null);
      for (const [t, v] of s.values) {
        const y = Number(v);
        ys[index.get(Number(t))] = Number.isFinite(y) ? y : null;
      }
      columns.push(ys);
      labels.push(labelOf ? labelOf(s.metric) : seriesName(s.metric));
    }
    return {columns, labels};
  }

  // The series' labels as Prometheus writes them: name{a="x", b="y"}.
  function seriesName(metric) {
    const {__name__: name, ...rest} = metric || {};
    const pairs = Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(', ');
    return `${name || ''}${pairs || !name ? `{${pairs}}` : ''}`;
  }

  // Latency, rates and ratios are never negative: their axis starts at 0 and reaches a
  // little above the highest value, with a floor so that a flat zero line (no error at
  // all) reads as 0 on a small scale instead of uPlot's guess around it (0 to 100 shown
  // as 0% to 10000%). Other units (explore's expressions) keep uPlot's own range.
  const FLOOR = {ms: 1, rps: 1, ratio: 0.01};
  function yRange(unit) {
    if (!(unit in FLOOR)) return undefined;
    return (u, min, max) => [0, Math.max(FLOOR[unit], Number.isFinite(max) ? max * 1.1 : 0)];
  }

  function tickFormat(unit) {
    return (u, vals) => vals.map((v) => v === null ? '' :
      unit === 'ms' ? TG.fmt.ms(v) : unit === 'ratio' ? TG.fmt.pct(v)
        : unit === 'rps' ? TG.fmt.rate(v) : TG.fmt.num(v));
  }

  // timeChart(container, {id, title, unit: 'ms'|'rps'|'ratio'|'', height, series: [{label,
  // color}], colorOf(label)}) -> {setData(columns, labels), data, labels, el}. `colorOf`
  // gives a series its colour by name (5xx red whatever the order the query returns).
  // With an `id` the chart is also TG.charts[id], where a test or the console can read
  // what it shows.
  function timeChart(container, opts) {
    const wrap = TG.el('figure', {class: 'chart', 'data-chart': opts.id || null},
                       opts.title ? TG.el('figcaption', {}, opts.title) : null);
    const body = TG.el('div', {class: 'chart-body'});
    const empty = TG.el('p', {class: 'chart-empty', hidden: true}, 'no data in this range');
    wrap.append(body, empty);
    container.append(wrap);
    const chart = {el: wrap, data: null, labels: [], plot: null};
    const height = opts.height || 220;

    function build(columns, labels) {
      if (chart.plot) chart.plot.destroy();
      const grid = {stroke: css('--grid')};
      const axis = {stroke: css('--muted'), grid, ticks: grid};
      chart.plot = new uPlot({
        width: Math.max(200, body.clientWidth || container.clientWidth || 600),
        height,
        legend: {live: true},
        cursor: {focus: {prox: 16}},
        scales: yRange(opts.unit) ? {x: {time: true}, y: {range: yRange(opts.unit)}}
                                  : {x: {time: true}},
        axes: [axis, {...axis, size: 70, values: tickFormat(opts.unit)}],
        series: [{}, ...labels.map((label, i) => ({
          label,
          stroke: (opts.colorOf && opts.colorOf(label)) ||
                  ((opts.series || [])[i] || {}).color || PALETTE[i % PALETTE.length],
          width: 1.5,
          spanGaps: false,
          value: (u, v) => v === null ? '–' : tickFormat(opts.unit)(u, [v])[0],
        }))],
      }, columns, body);
    }

    chart.setData = (columns, labels) => {
      const same = chart.plot && labels.length === chart.labels.length &&
                   labels.every((l, i) => l === chart.labels[i]);
      chart.data = columns;
      chart.labels = labels;
      empty.hidden = columns[0].length > 0;
      if (same) chart.plot.setData(columns);
      else build(columns, labels);
    };
    chart.redraw = () => chart.data && build(chart.data, chart.labels);

    const ro = new ResizeObserver(() => {
      if (chart.plot && body.clientWidth)
        chart.plot.setSize({width: body.clientWidth, height});
    });
    ro.observe(body);
    chart.destroy = () => {
      ro.disconnect();
      if (chart.plot) chart.plot.destroy();
      if (opts.id && TG.charts[opts.id] === chart) delete TG.charts[opts.id];
    };
    if (opts.id) TG.charts[opts.id] = chart;
    return chart;
  }

  // Runs each {expr, label} as a range query over the picker's range and shows them
  // together: one column per result series; `label` names a query's single series, or
  // is a function of a series' labels.
  async function rangeInto(chart, queries, points) {
    const r = await TG.range(points);
    const answers = await Promise.all(queries.map((q) => TG.prom.range(q.expr, r.start, r.end, r.step)));
    const result = [];
    const names = [];
    answers.forEach((a, i) => {
      for (const s of a.result || []) {
        result.push(s);
        const l = queries[i].label;
        names.push(typeof l === 'function' ? l(s.metric) : l || seriesName(s.metric));
      }
    });
    const {columns} = matrixToColumns(result);
    chart.setData(columns, names);
    return {columns, labels: names};
  }

  // sparkline([numbers|null], {width, height, label}) -> an <svg> polyline, scaled to its
  // own max; nulls break the line.
  function sparkline(values, o = {}) {
    const w = o.width || 100;
    const h = o.height || 22;
    const vs = values.map((v) => (v === null || !Number.isFinite(Number(v)) ? null : Number(v)));
    const max = Math.max(0, ...vs.filter((v) => v !== null)) || 1;
    const step = vs.length > 1 ? w / (vs.length - 1) : w;
    const parts = [];
    let run = [];
    vs.forEach((v, i) => {
      if (v === null) { if (run.length) parts.push(run); run = []; return; }
      run.push(`${(i * step).toFixed(1)},${(h - 1 - (v / max) * (h - 2)).toFixed(1)}`);
    });
    if (run.length) parts.push(run);
    return TG.el('svg:svg', {class: 'spark', width: w, height: h, viewBox: `0 0 ${w} ${h}`,
                             role: 'img', 'aria-label': o.label || 'trend'},
      parts.map((p) => TG.el('svg:polyline', {points: p.join(' ')})));
  }

  Object.assign(TG, {timeChart, rangeInto, matrixToColumns, seriesName, sparkline,
                     palette: PALETTE});
})();
