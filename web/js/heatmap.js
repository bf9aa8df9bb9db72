// SPDX-License-Identifier: MIT
// The latency heatmap: how many requests per second ended in each histogram bucket, step
// by step, on a canvas (thousands of cells; as SVG each would be a DOM node). Prometheus
// buckets are cumulative (`le`: at most this long), so each row is the difference
// between adjacent bounds. Colour follows the logarithm of the rate: a tail of a few
// requests a second beside a body of hundreds must still show. `TG.bucketsToCells` is
// the arithmetic alone, so it can be checked without a browser.
'use strict';

(() => {
  // A sequential ramp (pale yellow -> orange -> red -> dark purple), readable on both
  // the light and the dark background.
  const RAMP = [[255, 237, 160], [254, 178, 76], [240, 59, 32], [189, 0, 38], [84, 0, 84]];

  function rampColor(f) {
    const x = Math.min(1, Math.max(0, f)) * (RAMP.length - 1);
    const i = Math.min(RAMP.length - 2, Math.floor(x));
    const t = x - i;
    const c = RAMP[i].map((v, k) => Math.round(v + (RAMP[i + 1][k] - v) * t));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  const leValue = (le) => (le === '+Inf' ? Infinity : Number(le));

  // Matrix of cumulative bucket rates (one series per `le`) -> {xs, bounds, rows}: rows[b][i]
  // is the rate of requests that took more than bounds[b-1] and at most bounds[b] at xs[i],
  // null where this bucket or the one below has no sample at that step (the difference is
  // unknown, not the whole cumulative rate). A bucket below its neighbour (a counter reset
  // caught between two scrapes) counts as 0, not as a negative rate.
  function bucketsToCells(result) {
    const series = result.filter((s) => s.metric && s.metric.le !== undefined)
      .sort((a, b) => leValue(a.metric.le) - leValue(b.metric.le));
    const xs = [...new Set(series.flatMap((s) => s.values.map((v) => Number(v[0]))))]
      .sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const cum = series.map((s) => {
      const ys = new Array(xs.length).fill(null);
      for (const [t, v] of s.values)
        if (Number.isFinite(Number(v))) ys[index.get(Number(t))] = Number(v);
      return ys;
    });
    const rows = cum.map((ys, b) => ys.map((y, i) => {
      const below = b > 0 ? cum[b - 1][i] : 0;
      return y === null || below === null ? null : Math.max(0, y - below);
    }));
    return {xs, bounds: series.map((s) => leValue(s.metric.le)), rows};
  }

  const boundLabel = (b, prev) => (b === Infinity ? `> ${TG.fmt.ms(prev * 1000)}`
                                                   : `≤ ${TG.fmt.ms(b * 1000)}`);

  // heatmap(container, {id, height}) -> {setData(cells), data, redraw(), destroy()}; with
  // an `id` it is TG.charts[id] (redrawn by the theme switch like the other charts).
  function heatmap(container, opts = {}) {
    const height = opts.height || 260;
    const canvas = TG.el('canvas', {class: 'heatmap', role: 'img', 'aria-label':
      'latency heatmap: requests per second by duration bucket over time'});
    const readout = TG.el('p', {class: 'heat-readout muted', 'aria-live': 'off'}, '\u00a0');
    const scale = TG.el('canvas', {class: 'heat-scale', width: 120, height: 10,
                                   'aria-hidden': 'true'});
    const scaleMax = TG.el('span', {});
    const legend = TG.el('div', {class: 'heat-legend muted'}, 'requests/s: 0 ', scale, ' ',
                         scaleMax, ' (log scale)');
    const empty = TG.el('p', {class: 'chart-empty', hidden: true}, 'no requests in this range');
    const wrap = TG.el('div', {class: 'heatmap-wrap'}, canvas, empty, legend, readout);
    container.append(wrap);
    const hm = {el: wrap, data: null, labels: []};
    let layout = null;

    const css = (name) =>
      getComputedStyle(document.documentElement).getPropertyValue(name).trim();

    // Rows that never saw a request, below the fastest and above the slowest, are left
    // out: a fast endpoint would otherwise be a thin band under twenty empty rows.
    function visibleRows(d) {
      const used = d.rows.map((r) => r.some((v) => v > 0));
      let lo = used.indexOf(true);
      let hi = used.lastIndexOf(true);
      if (lo < 0) return [];
      lo = Math.max(0, lo - 1);
      hi = Math.min(d.rows.length - 1, hi + 1);
      const out = [];
      for (let b = lo; b <= hi; b++) out.push(b);
      return out;
    }

    function draw() {
      const d = hm.data;
      const w = Math.max(200, wrap.clientWidth || container.clientWidth || 600);
      const dpr = window.devicePixelRatio || 1;
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${height}px`;
      const g = canvas.getContext('2d');
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.clearRect(0, 0, w, height);
      const rowsShown = d ? visibleRows(d) : [];
      empty.hidden = rowsShown.length > 0;
      legend.hidden = !rowsShown.length;
      if (!rowsShown.length) { layout = null; return; }

      const left = 78;
      const bottom = 22;
      const pw = w - left - 8;
      const ph = height - bottom - 4;
      const nx = d.xs.length;
      const cw = pw / Math.max(1, nx);
      const rh = ph / rowsShown.length;
      let max = 0;
      for (const b of rowsShown) for (const v of d.rows[b]) if (v > max) max = v;
      const lmax = Math.log1p(max) || 1;
      rowsShown.forEach((b, r) => {
        const y = 4 + ph - (r + 1) * rh;
        d.rows[b].forEach((v, i) => {
          if (!(v > 0)) return;
          g.fillStyle = rampColor(0.08 + 0.92 * (Math.log1p(v) / lmax));
          // Cells overlap by a pixel: no hairline gaps between them when scaled.
          g.fillRect(left + i * cw, y, cw + 0.6, rh + 0.6);
        });
      });

      g.fillStyle = css('--muted');
      g.font = '11px system-ui, sans-serif';
      g.textAlign = 'right';
      g.textBaseline = 'middle';
      const every = Math.max(1, Math.ceil(14 / rh));
      rowsShown.forEach((b, r) => {
        if (r % every) return;
        g.fillText(boundLabel(d.bounds[b], d.bounds[b - 1] || 0), left - 6,
                   4 + ph - (r + 0.5) * rh);
      });
      g.textAlign = 'center';
      g.textBaseline = 'top';
      const ticks = Math.max(2, Math.min(6, Math.floor(pw / 110)));
      for (let k = 0; k <= ticks; k++) {
        const i = Math.round((k / ticks) * (nx - 1));
        const x = left + (i + 0.5) * cw;
        g.fillText(TG.fmt.time(d.xs[i]), Math.min(w - 30, Math.max(left + 20, x)),
                   height - bottom + 6);
      }
      g.strokeStyle = css('--grid');
      g.strokeRect(left + 0.5, 4.5, pw, ph);

      const sg = scale.getContext('2d');
      for (let x = 0; x < scale.width; x++) {
        sg.fillStyle = rampColor(0.08 + 0.92 * (x / (scale.width - 1)));
        sg.fillRect(x, 0, 1, scale.height);
      }
      scaleMax.textContent = TG.fmt.num(max);
      layout = {left, top: 4, pw, ph, cw, rh, rowsShown};
    }

    canvas.addEventListener('mousemove', (ev) => {
      const d = hm.data;
      if (!layout || !d) return;
      const r = canvas.getBoundingClientRect();
      const x = ev.clientX - r.left - layout.left;
      const y = ev.clientY - r.top - layout.top;
      const i = Math.floor(x / layout.cw);
      const row = layout.rowsShown.length - 1 - Math.floor(y / layout.rh);
      if (x < 0 || y < 0 || i >= d.xs.length || row < 0 || row >= layout.rowsShown.length) return;
      const b = layout.rowsShown[row];
      const lo = b > 0 ? TG.fmt.ms(d.bounds[b - 1] * 1000) : '0';
      const hi = d.bounds[b] === Infinity ? '∞' : TG.fmt.ms(d.bounds[b] * 1000);
      readout.textContent = `${TG.fmt.time(d.xs[i])} · ${lo} – ${hi} · ` +
                            `${TG.fmt.num(d.rows[b][i])} requests/s`;
    });

    hm.setData = (cells) => {
      hm.data = cells;
      hm.labels = cells.bounds.map((b) => (b === Infinity ? '+Inf' : String(b)));
      draw();
    };
    hm.redraw = () => draw();
    // Redrawn on a change of width only: its own height is fixed, so drawing cannot
    // feed back into the observer.
    let lastW = 0;
    const ro = new ResizeObserver(() => {
      if (hm.data && wrap.clientWidth !== lastW) { lastW = wrap.clientWidth; draw(); }
    });
    ro.observe(wrap);
    hm.destroy = () => {
      ro.disconnect();
      if (opts.id && TG.charts[opts.id] === hm) delete TG.charts[opts.id];
    };
    if (opts.id) TG.charts[opts.id] = hm;
    return hm;
  }

  Object.assign(TG, {heatmap, bucketsToCells});
})();
