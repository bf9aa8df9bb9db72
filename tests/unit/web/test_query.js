// SPDX-License-Identifier: MIT
// web/js/query.js: label matchers that quote any endpoint name safely, the rate window
// the charts use, and range queries whose fixed series names survive an empty answer
// (the overview's latency chart has p50, p95 and p99 before any request).
'use strict';

const assert = require('assert');
const {load, plain, run} = require('../../support/webjs.js');

const TG = load(process.argv[2], ['core.js', 'chart.js', 'query.js']);

// The self-scrape's interval as /api/v1/targets gives it.
function scrapeEvery(interval) {
  TG.api = async (path) => {
    assert.match(path, /^\/api\/v1\/targets/);
    const target = {scrapePool: 'tailguard', scrapeInterval: interval};
    return {status: 'success', data: {activeTargets: [target]}};
  };
}

run([
  ['matchers quote and escape every value', () => {
    assert.strictEqual(TG.q.matchers({endpoint: '/api/a"b\\c\nd', method: 'GET'}),
                       'endpoint="/api/a\\"b\\\\c\\nd",method="GET"');
  }],
  ['a leading ! is a negative matcher; empty values are left out', () => {
    assert.strictEqual(TG.q.matchers({endpoint: '!(rejected)', method: '', status: null}),
                       'endpoint!="(rejected)"');
  }],
  ['quantileMs groups by le and the given labels, in ms', () => {
    assert.strictEqual(
      TG.q.quantileMs(0.95, 'http_request_duration_seconds', 'a="b"', ['endpoint']),
      'histogram_quantile(0.95, sum by (le, endpoint) ' +
      '(rate(http_request_duration_seconds_bucket{a="b"}[$__rate_interval]))) * 1000');
  }],
  ['the rate window is four scrapes, or a step and a scrape', async () => {
    scrapeEvery('1s');
    assert.strictEqual(await TG.q.rateWindow(1), '4s');
    assert.strictEqual(await TG.q.rateWindow(30), '31s');
    assert.strictEqual(await TG.q.rateWindow(2.5), '4s');
  }],
  ['rangeInto fills the window, keeps fixed names, names the others by function', async () => {
    const asked = [];
    TG.range = async () => ({start: 100, end: 120, step: 10});
    TG.prom.range = async (expr, start, end, step) => {
      asked.push([expr, start, end, step]);
      const matrix = (result) => ({resultType: 'matrix', result});
      if (expr.startsWith('p50')) return matrix([]);
      if (expr.startsWith('p95')) return matrix([{metric: {}, values: [[110, '2.5']]}]);
      return matrix([{metric: {status: '200'}, values: [[100, '1'], [120, 'NaN']]}]);
    };
    let shown = null;
    const chart = {setData: (columns, labels) => { shown = {columns, labels}; }};
    await TG.q.rangeInto(chart, [
      {expr: 'p50[$__rate_interval]', label: 'p50'},
      {expr: 'p95', label: 'p95'},
      {expr: 'by_status[$__rate_interval]', label: (m) => m.status},
    ]);
    // The window is the one rateWindow(10) gives (the scrape interval is still 1 s).
    assert.deepStrictEqual(plain(asked), [['p50[11s]', 100, 120, 10], ['p95', 100, 120, 10],
                                          ['by_status[11s]', 100, 120, 10]]);
    assert.deepStrictEqual(plain(shown.labels), ['p50', 'p95', '200']);
    assert.deepStrictEqual(plain(shown.columns), [[100, 110, 120], [null, null, null],
                                                  [null, 2.5, null], [1, null, null]]);
  }],
]);
