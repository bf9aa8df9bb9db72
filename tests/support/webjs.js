// SPDX-License-Identifier: MIT
// Runs the dashboard's scripts (web/js) outside a browser, for the unit tests of
// tests/unit/web/: each file is evaluated in order in one fresh V8 context, as the page's
// <script> tags would be, and the page's global `TG` is handed back. Nothing touches the
// DOM at load time, so only what a test calls needs a stub. Also a tiny runner: each
// named case prints ok or the failure, and the exit status is the number of failures.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

function load(dir, files) {
  const ctx = vm.createContext({console, URLSearchParams, setTimeout, clearTimeout});
  for (const f of files)
    vm.runInContext(fs.readFileSync(path.join(dir, f), 'utf8'), ctx, {filename: f});
  return vm.runInContext('TG', ctx);
}

// Values made in the scripts' context have that context's prototypes: compare plain
// copies (JSON keeps null, turns Infinity into null; tests check bounds apart).
const plain = (x) => JSON.parse(JSON.stringify(x));

async function run(cases) {
  let failed = 0;
  for (const [name, fn] of cases) {
    try {
      await fn();
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}\n${e.stack || e}`);
    }
  }
  console.log(`${cases.length - failed} of ${cases.length} passed`);
  process.exitCode = failed;
}

module.exports = {load, plain, run};
