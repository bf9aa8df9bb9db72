// SPDX-License-Identifier: MIT
// web/js/heatmap.js: cumulative Prometheus buckets into per-bucket cells (the arithmetic
// the latency heatmap draws): ordered by bound whatever order the query returns, each
// bucket the difference with the one below, a reset never a negative rate, a missing
// sample an unknown cell rather than the whole cumulative rate.
'use strict';

const assert = require('assert');
const {load, plain, run} = require('../../support/webjs.js');

const TG = load(process.argv[2], ['core.js', 'chart.js', 'heatmap.js']);
const series = (le, values) => ({metric: {le}, values: values.map(([t, v]) => [t, String(v)])});

run([
  ['buckets are ordered by bound and differenced', () => {
    const cells = TG.bucketsToCells([
      series('+Inf', [[10, 12], [20, 20]]),
      series('0.1', [[10, 3], [20, 5]]),
      series('0.05', [[10, 1], [20, 5]]),
      series('1', [[10, 10], [20, 20]]),
    ]);
    assert.deepStrictEqual(plain(cells.xs), [10, 20]);
    assert.deepStrictEqual([...cells.bounds], [0.05, 0.1, 1, Infinity]);
    assert.deepStrictEqual(plain(cells.rows), [[1, 5], [2, 0], [7, 15], [2, 0]]);
  }],
  ['a bucket below its neighbour counts as 0', () => {
    const cells = TG.bucketsToCells([series('0.1', [[10, 4]]), series('0.5', [[10, 3]])]);
    assert.deepStrictEqual(plain(cells.rows), [[4], [0]]);
  }],
  ['a missing sample leaves its cell and the one above unknown', () => {
    const cells = TG.bucketsToCells([
      series('0.1', [[10, 1]]),
      series('0.5', [[10, 2], [20, 6]]),
      series('+Inf', [[10, 2], [20, 7]]),
    ]);
    assert.deepStrictEqual(plain(cells.xs), [10, 20]);
    assert.deepStrictEqual(plain(cells.rows), [[1, null], [1, null], [0, 1]]);
  }],
  ['NaN samples and series without le are left out', () => {
    const cells = TG.bucketsToCells([
      series('0.1', [[10, 'NaN']]),
      {metric: {}, values: [[10, '5']]},
      series('+Inf', [[10, 2]]),
    ]);
    assert.deepStrictEqual([...cells.bounds], [0.1, Infinity]);
    assert.deepStrictEqual(plain(cells.rows), [[null], [null]]);
  }],
  ['no series, no cells', () => {
    const cells = TG.bucketsToCells([]);
    assert.deepStrictEqual(plain(cells), {xs: [], bounds: [], rows: []});
  }],
]);
