# SPDX-License-Identifier: MIT
"""`tailguard check-rules` against `promtool check rules` (Prometheus 2.42, the Debian
package): the seeds' rule files and a set of broken ones get the same verdict from
both, and tailguard names each problem the way promtool does."""
import os
import shutil
import subprocess
import tempfile

from tgtest import *  # noqa: F401,F403

SEED_000 = """groups:
  - name: api_performance
    rules:
      - alert: APILatencyHigh
        expr: histogram_quantile(0.95, http_request_duration_seconds_bucket) > 1
        for: 5m
        annotations:
          summary: "API p95 latency > 1s"
          runbook: "docs/runbooks/api_performance_degradation.md"
"""

SEED_003 = """groups:
- name: performance_alerts
  rules:
  - alert: HighResponseTime
    expr: histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 2
    for: 2m
    labels:
      severity: warning
    annotations:
      summary: "High response time detected"

  - alert: HighErrorRate
    expr: rate(http_requests_total{status=~"5.."}[5m]) > 0.01
    for: 2m
    labels:
      severity: warning
    annotations:
      summary: "High error rate detected"
"""

SEED_004_BARE_LIST = """- alert: HighAPILatency
  expr: histogram_quantile(0.95, http_request_duration_seconds_bucket) > 3
  for: 5m
  labels:
    severity: warning
"""

# (file text, a phrase both tools' output must contain, or None for a valid file)
CASES = [
    (SEED_000, None),
    (SEED_003, None),
    (SEED_004_BARE_LIST, "cannot unmarshal !!seq into rulefmt.RuleGroups"),
    ("groups:\n- name: g\n  rules:\n  - record: job:x:rate5m\n    expr: sum by (job) (rate(x[5m]))\n"
     "    labels: {team: a}\n", None),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1h30m\n"
     "    keep_firing_for: 5m\n    annotations:\n      d: '{{ $labels.instance }} {{ $value | humanize }}'\n",
     None),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(http_requests_total[5m]) by (status)\n",
     "could not parse expression"),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n    record: b\n    expr: up\n",
     "only one of 'record' and 'alert' must be set"),
    ("groups:\n- name: g\n  rules:\n  - expr: up\n", "one of 'record' or 'alert' must be set"),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n", "field 'expr' must be set in rule"),
    ("groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n    for: 5m\n",
     "invalid field 'for' in recording rule"),
    ("groups:\n- name: g\n  rules:\n  - record: 'bad name'\n    expr: up\n",
     "invalid recording rule name"),
    ("groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n", "is repeated in the same file"),
    ("groups:\n- name: ''\n  rules: []\n", "Groupname must not be empty"),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    severity: high\n",
     "field severity not found"),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: 5 minutes\n",
     "not a valid duration string"),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels: {'bad-name': x}\n",
     "invalid label name"),
    ("groups:\n- name: g\n  interval: 30s\n  limit: 10\n  rules:\n  - alert: A\n    expr: up\n", None),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations: {s: '{{ nosuch }}'}\n",
     'function "nosuch" not defined'),
    ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels: {a: '{{ $value '}\n",
     "unclosed action"),
    ("groups:\n- name: g\n  interval: 5 x\n  rules: []\n", "not a valid duration string"),
]


def promtool():
    path = shutil.which("promtool")
    if not path:
        subprocess.run(["bash", os.path.join(SRC, "scripts", "install-deps.sh")], check=True)
        path = shutil.which("promtool")
    return path


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def test_same_verdicts_as_promtool():
    pt = promtool()
    d = tempfile.mkdtemp(prefix="tg-rules-")
    try:
        for i, (text, phrase) in enumerate(CASES):
            path = os.path.join(d, f"r{i}.yml")
            with open(path, "w") as f:
                f.write(text)
            prc, pout = run([pt, "check", "rules", path])
            trc, tout = run([BIN, "check-rules", path])
            assert prc == trc, (text, pout, tout)
            assert (phrase is None) == (prc == 0), (text, pout)
            if phrase:
                assert phrase in pout and phrase in tout, (phrase, pout, tout)
                # The problem line itself, position included, as promtool prints it
                # (the bare list gets a hint added to promtool's words).
                first = [l for l in pout.splitlines() if l.startswith(path)][0]
                if "!!seq" not in pout:
                    assert first in tout.splitlines(), (first, tout)
            else:
                found = [l for l in pout.splitlines() if "SUCCESS" in l]
                assert found and found[0] in tout, (pout, tout)
        # several files at once: one bad file fails the run, every file is reported
        trc, tout = run([BIN, "check-rules", os.path.join(d, "r0.yml"), os.path.join(d, "r2.yml")])
        assert trc == 1 and "SUCCESS: 1 rules found" in tout and "FAILED" in tout, tout
        trc, tout = run([BIN, "check-rules", os.path.join(d, "missing.yml")])
        assert trc == 1 and "missing.yml" in tout, tout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_shipped_rule_files():
    """examples/rules/: every file loads in promtool and in tailguard with the same rule
    count, and the runbook files keep the runbooks' rules verbatim (the expressions the
    seed texts write, character for character)."""
    pt = promtool()
    d = os.path.join(SRC, "examples", "rules")
    files = sorted(f for f in os.listdir(d) if f.endswith(".yml"))
    assert {"runbook-000.yml", "runbook-003.yml", "runbook-004.yml", "companions.yml",
            "tailguard.yml"} <= set(files), files
    for f in files:
        path = os.path.join(d, f)
        prc, pout = run([pt, "check", "rules", path])
        trc, tout = run([BIN, "check-rules", path])
        assert prc == 0 and trc == 0, (f, pout, tout)
        found = [l for l in pout.splitlines() if "SUCCESS" in l]
        assert found and found[0] in tout, (pout, tout)
    text = open(os.path.join(d, "runbook-000.yml")).read()
    assert "expr: histogram_quantile(0.95, http_request_duration_seconds_bucket) > 1\n" in text
    text = open(os.path.join(d, "runbook-003.yml")).read()
    for expr in ('rate(http_requests_total{status=~"5.."}[5m]) > 0.01',
                 'container_cpu_usage_seconds_total{container="codexos-backend"} > 0.8'):
        assert f"expr: {expr}\n" in text, expr
    text = open(os.path.join(d, "runbook-004.yml")).read()
    assert "expr: nodejs_heap_used_bytes / nodejs_heap_size_limit_bytes > 0.90\n" in text


if __name__ == "__main__":
    run_tests()
