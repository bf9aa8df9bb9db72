// SPDX-License-Identifier: MIT
// The explore view (#/explore?q=EXPR&tab=graph|table): a PromQL box over the gateway's own
// Prometheus HTTP API, as Prometheus's own UI has it. Enter runs the query (Shift+Enter
// adds a line); the graph is a range query over the header's range picker, the table an
// instant query (labels and value, sorted by labels or by value). The query lives in the
// URL, so a link shares it and a reload keeps it; the last queries run are kept in this
// browser.
// Errors are shown as the API words them (`bad_data: ... 1:5: parse error ...`), with the
// caret moved to the position they name.
'use strict';

(() => {
  const HISTORY_KEY = 'tg.explore.history';
  const HISTORY_MAX = 12;
  // Drawing thousands of lines helps nobody and stalls the page; Prometheus's UI warns
  // past a similar count. The table shows every series.
  const GRAPH_MAX_SERIES = 100;

  // One Prometheus API call, answered with its whole JSON body: unlike TG.prom, which
  // keeps only the message, the view shows `errorType` and `warnings` too.
  async function prom(path, params) {
    const res = await fetch(path, {
      method: 'POST', cache: 'no-store',
      headers: {'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json'},
      body: new URLSearchParams(params).toString(),
    });
    let json = null;
    try { json = await res.json(); } catch (e) { json = null; }
    if (!json || json.status !== 'success') {
      const err = new Error(json ? `${json.errorType || 'error'}: ${json.error}`
                                 : `${res.status} ${res.statusText}`);
      err.status = res.status;
      // "1:35: parse error: ..." (the instant query's has `invalid parameter "query": `
      // before it, the range query's not).
      err.position = json && /(?:^|: )(\d+):(\d+): parse error/.exec(json.error || '');
      throw err;
    }
    return json;
  }

  function recentQueries() {
    try { return JSON.parse(localStorage.getItem(HISTORY_KEY)) || []; } catch (e) { return []; }
  }
  function remember(expr) {
    const h = [expr, ...recentQueries().filter((q) => q !== expr)].slice(0, HISTORY_MAX);
    localStorage.setItem(HISTORY_KEY, JSON.stringify(h));
  }

  // Moves the caret to line:column (1-based, as the parser counts) of the textarea.
  function caretTo(box, line, col) {
    const lines = box.value.split('\n');
    let at = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) at += lines[i].length + 1;
    at = Math.min(box.value.length, at + Math.max(0, col - 1));
    box.focus();
    box.setSelectionRange(at, at);
  }

  function valueCell(sample) {
    return TG.el('td', {class: 'num mono'}, sample ? sample[1] : '');
  }

  // The instant query's answer as table rows: a vector's series sorted by their labels
  // (or by value, highest first, when `byValue`); a matrix's (a range selector) with every
  // sample; a scalar or string as one row.
  function tableRows(data, byValue) {
    const {resultType: type, result} = data;
    if (type === 'scalar' || type === 'string')
      return [TG.el('tr', {}, TG.el('td', {class: 'mono muted'}, type), valueCell(result))];
    const named = result.map((s) => ({name: TG.seriesName(s.metric), s,
                                      v: s.value ? Number(s.value[1]) : NaN}));
    const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    // NaN last, as Prometheus's sort_desc puts it.
    const num = (x) => (Number.isNaN(x) ? -Infinity : x);
    named.sort(byValue ? (a, b) => num(b.v) - num(a.v) || byName(a, b) : byName);
    return named.map(({name, s}) => TG.el('tr', {},
      TG.el('td', {class: 'mono series'}, name),
      type === 'matrix'
        ? TG.el('td', {class: 'mono'}, s.values.map((v) => `${v[1]} @${v[0]}`).join('\n'))
        : valueCell(s.value)));
  }

  function mount(root, {query}) {
    const el = TG.el;
    let expr = query.get('q') || '';
    let tab = query.get('tab') === 'table' ? 'table' : 'graph';
    let seq = 0; // answers to an older run are dropped
    let broken = false; // the query was refused as malformed: not run again until edited

    const box = el('textarea', {id: 'explore-query', rows: 3, spellcheck: 'false',
                                autocomplete: 'off', 'aria-label': 'PromQL expression',
                                placeholder: 'Expression (Enter runs, Shift+Enter adds a line)'});
    box.value = expr;
    const names = el('datalist', {id: 'explore-metrics'});
    const metric = el('input', {id: 'explore-metric', list: 'explore-metrics', autocomplete: 'off',
                                placeholder: 'metric name', 'aria-label': 'Insert a metric name'});
    const runBtn = el('button', {type: 'submit', class: 'primary', id: 'explore-run'}, 'Execute');
    const error = el('p', {class: 'query-error mono', role: 'alert', hidden: true});
    const info = el('p', {class: 'query-info muted', 'aria-live': 'polite'});
    const recent = el('div', {class: 'query-history'});

    const tabs = {graph: null, table: null};
    const panels = {graph: el('div', {id: 'explore-graph', role: 'tabpanel',
                                      'aria-labelledby': 'explore-tab-graph'}),
                    table: el('div', {id: 'explore-table', role: 'tabpanel',
                                      'aria-labelledby': 'explore-tab-table'})};
    for (const t of ['graph', 'table']) {
      tabs[t] = el('button', {type: 'button', role: 'tab', id: `explore-tab-${t}`,
                              'aria-controls': `explore-${t}`,
                              on: {click: () => select(t, true), keydown: tabKeys}},
                   t === 'graph' ? 'Graph' : 'Table');
    }
    const chart = TG.timeChart(panels.graph, {id: 'explore', unit: '', height: 320});
    const tbody = el('tbody');
    let answer = null; // the last instant answer, sorted again without asking again
    let byValue = false;
    const heads = [['series', 'Series', ''], ['value', 'Value', 'num']].map(([k, t, cls]) =>
      el('th', {class: cls || null, scope: 'col', 'data-col': k},
         el('button', {type: 'button', on: {click: () => {
           byValue = k === 'value';
           drawTable();
         }}}, t)));
    panels.table.append(el('div', {class: 'table-wrap'},
      el('table', {class: 'explore-result'}, el('thead', {}, el('tr', {}, heads)), tbody)));

    function drawTable() {
      heads[0].setAttribute('aria-sort', byValue ? 'none' : 'ascending');
      heads[1].setAttribute('aria-sort', byValue ? 'descending' : 'none');
      TG.clear(tbody, answer ? tableRows(answer, byValue) : []);
    }

    // The box holds exactly what runs, so the positions of errors fall right.
    const form = el('form', {class: 'explore-form', on: {submit: (e) => {
      e.preventDefault();
      box.value = box.value.trim();
      run(box.value);
    }}},
    box,
    el('div', {class: 'explore-bar'}, metric, names, runBtn));
    root.append(
      el('h1', {}, 'Explore'),
      el('section', {class: 'card explore'}, form, error, info, recent,
         el('div', {role: 'tablist', class: 'tabs', 'aria-label': 'Result'},
            tabs.graph, tabs.table),
         panels.graph, panels.table));

    // Enter runs, Shift+Enter is a newline (Prometheus's UI has the same keys).
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    // A name picked from the list goes in at the caret, and the box gets the focus back.
    metric.addEventListener('change', () => {
      const name = metric.value.trim();
      if (!name) return;
      const {selectionStart: a, selectionEnd: b} = box;
      box.setRangeText(name, a, b, 'end');
      metric.value = '';
      box.focus();
    });

    function tabKeys(e) {
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        e.preventDefault();
        select(tab === 'graph' ? 'table' : 'graph', true);
        tabs[tab].focus();
      }
    }

    function select(t, runNow) {
      tab = t;
      for (const k of ['graph', 'table']) {
        tabs[k].setAttribute('aria-selected', String(k === t));
        tabs[k].tabIndex = k === t ? 0 : -1;
        panels[k].hidden = k !== t;
      }
      if (t === 'graph' && chart.data) chart.redraw(); // sized while hidden: 0 wide
      if (runNow) {
        keepInUrl();
        update();
      }
    }

    // The query and tab in the fragment, without a new history entry per keystroke and
    // without a hashchange (which would mount the view again).
    function keepInUrl() {
      const q = new URLSearchParams();
      if (expr) q.set('q', expr);
      if (tab !== 'graph') q.set('tab', tab);
      const s = q.toString();
      history.replaceState(null, '', `#/explore${s ? `?${s}` : ''}`);
    }

    function showHistory() {
      const h = recentQueries();
      TG.clear(recent, h.length ? el('details', {},
        el('summary', {}, `Recent queries (${h.length})`),
        el('ul', {}, h.map((q) => el('li', {}, el('button', {
          type: 'button', class: 'link mono', title: 'Run this query',
          on: {click: () => { box.value = q; run(q); }}}, q))))) : null);
    }

    function run(e) {
      expr = e;
      broken = false;
      if (expr) remember(expr);
      keepInUrl();
      showHistory();
      return update();
    }

    // The error replaces the results: numbers of the query before would pass for this one's.
    function fail(err) {
      broken = err.status === 400;
      error.textContent = err.message;
      error.hidden = false;
      info.textContent = '';
      chart.setData([[]], []);
      answer = null;
      drawTable();
      if (err.position) caretTo(box, Number(err.position[1]), Number(err.position[2]));
    }

    async function graph(my) {
      const r = await TG.range(240);
      const t0 = performance.now();
      const json = await prom('/api/v1/query_range',
                              {query: expr, start: r.start, end: r.end, step: r.step});
      if (my !== seq) return;
      const result = json.data.resultType === 'matrix' ? json.data.result : [];
      const shown = result.slice(0, GRAPH_MAX_SERIES);
      const {columns, labels} = TG.matrixToColumns(shown);
      chart.setData(columns, labels);
      info.textContent = [`${result.length} series`, `step ${r.step} s`,
        `${Math.round(performance.now() - t0)} ms`,
        result.length > shown.length ? `first ${shown.length} drawn` : null,
        ...(json.warnings || [])].filter(Boolean).join(' · ');
    }

    async function table(my) {
      const t0 = performance.now();
      const json = await prom('/api/v1/query', {query: expr, time: Date.now() / 1000});
      if (my !== seq) return;
      answer = json.data;
      drawTable();
      const n = Array.isArray(json.data.result) ? json.data.result.length : 1;
      info.textContent = [`${n} ${json.data.resultType === 'scalar' ? 'scalar' : 'series'}`,
        `${Math.round(performance.now() - t0)} ms`, ...(json.warnings || [])].join(' · ');
    }

    // Runs the query of the URL (not the text being edited) for the tab shown; called
    // by the live loop too, so the graph follows the range as time passes. A query the
    // API refused as malformed would be refused again: it waits for the next run.
    async function update() {
      const my = ++seq;
      if (!expr) {
        info.textContent = 'Enter a PromQL expression; the graph uses the range picked above.';
        return;
      }
      if (broken) return;
      try {
        if (tab === 'graph') await graph(my);
        else await table(my);
        if (my === seq) error.hidden = true;
      } catch (err) {
        if (my === seq) fail(err);
      }
    }

    // Metric names for the picker; the list is long-lived, so it is read once per mount.
    TG.api('/api/v1/label/__name__/values').then((j) => {
      TG.clear(names, (j.data || []).map((n) => el('option', {value: n})));
    }).catch(() => { /* the picker stays empty; the box still works */ });

    showHistory();
    select(tab, false);
    if (!expr) box.focus();
    return {update, unmount: () => chart.destroy()};
  }

  TG.view('explore', {title: 'Explore', mount});
})();
