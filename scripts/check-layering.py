#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Checks that every #include "mod/..." in src/ points at a module the including module may
# use (ARCHITECTURE.md's module table, dependencies flow downward). Exits 1 on a violation.
import os
import re
import sys

ALLOWED = {
    "core": set(),
    "http": {"core"},
    "config": {"core"},
    "metrics": {"core"},
    "protect": {"core", "metrics"},
    "proxy": {"core", "http", "config", "metrics", "protect"},
    "tsdb": {"core", "metrics"},
    "promql": {"core", "tsdb"},
    "rules": {"core", "http", "promql", "tsdb"},  # http: the notifier's client
    "store": {"core"},
    "diagnose": {"core", "config", "promql", "rules", "tsdb", "protect", "store", "metrics"},
    "scale": {"core", "config", "proxy", "tsdb"},
    "collect": {"core", "config", "http", "metrics"},  # http: the probes' client
    "bench": {"core", "http", "metrics"},
    "demo": {"core", "http"},
}
# The three top modules, in order. control/ (the control thread: its loop, signals, drain,
# reload, tick scheduler) may use every module above but bench/ and demo/; it sits below
# admin/, so the admin server is wired onto its loop from cli/. admin/ (the admin HTTP API)
# may use everything but cli/; cli/ (the subcommands) may use everything.
BELOW = set(ALLOWED)
ALLOWED["control"] = BELOW - {"bench", "demo"}
ALLOWED["admin"] = BELOW | {"control"}
ALLOWED["cli"] = BELOW | {"control", "admin"}

src = sys.argv[1]
bad = 0
for mod in sorted(os.listdir(src)):
    d = os.path.join(src, mod)
    if not os.path.isdir(d):
        continue
    if mod not in ALLOWED:
        print(f"{d}: unknown module folder")
        bad += 1
        continue
    for fn in sorted(os.listdir(d)):
        if not fn.endswith((".c", ".h")):
            continue
        with open(os.path.join(d, fn), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = re.match(r'\s*#\s*include\s+"([a-z]+)/', line)
                if m and m.group(1) != mod and m.group(1) not in ALLOWED[mod]:
                    print(f"{d}/{fn}:{n}: {mod} may not include {m.group(1)}/")
                    bad += 1
print(f"layering: {bad} violation(s)")
sys.exit(1 if bad else 0)
