#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The runbooks' loop end to end, under steady load from `tailguard bench`: a rule with a
short `for` fires on one endpoint made 800 ms slower in demo-api; the incident opens with
the alert, the diagnosis (targeted, that endpoint, sudden) is attached, the shipped
slow-endpoint playbook in auto mode sends its actions through the control API (audited
as playbook:slow-endpoint), each is judged, one helps (the route's breaker cuts the slow
calls), latency recovers, the alert resolves, the incident resolves, and after the hold
every action is undone. Prints the time from the fault to the alert, the diagnosis, the
first mitigation, the verdict and the recovery. Also: the kill switch (nothing sent,
the refusal noted), the dry run, the report in Markdown and HTML (rendered by headless
Chromium, screenshot path printed), and bad PUT /api/v1/system/playbooks bodies."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgtest import (BIN, HOST, Proc, SANITIZED, demo_api, free_port, gateway, http,  # noqa: E402
                    http_json, parallel, run_tests, wait_until)

BUCKETS = ", ".join(str(round(0.025 * i, 3)) for i in range(1, 41)) + ", 1.25, 1.5, 2, 3, 5, 10"
RULES = """groups:
  - name: latency
    interval: 1s
    rules:
      - alert: EndpointSlow
        expr: histogram_quantile(0.95, sum by (endpoint, le) (rate(http_request_duration_seconds_bucket[5s]))) > 0.5
        for: 2s
        labels: {severity: warning}
"""
RATE = 20 if SANITIZED else 40


def config(rules_path, playbooks):
    return f"""
tsdb: {{scrape_interval: 1s}}
metrics: {{buckets: [{BUCKETS}]}}
rules: {{files: ["{rules_path}"]}}
collectors: {{host: {{enabled: false}}}}
incidents: {{quiet_period: 8s}}
diagnosis: {{window: 10s, baseline: 30s, lookback: 60s, step: 1s}}
playbooks: {playbooks}
routes:
  - {{name: product, methods: [GET], path: "/api/products/:id"}}
"""


class Loop:
    def __init__(self, playbooks, seconds=90):
        self.dir = tempfile.mkdtemp(prefix="tg-pb-")
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write(RULES)
        self.dport, self.port, self.admin = free_port(), free_port(), free_port()
        self.store = os.path.join(self.dir, "store.db")
        self.cfg = config(rules, playbooks)
        self.procs = [demo_api(self.dport)]
        self.gw = gateway(self.port, self.admin, [self.dport], "--store", self.store,
                          config=self.cfg)
        self.procs.append(self.gw)
        urls = [f"http://{HOST}:{self.port}{p}"
                for p in ("/api/products", "/api/products/7", "/api/v1/agents")]
        self.procs.append(Proc([BIN, "bench", "-R", str(RATE), "-d", f"{seconds}s",
                                "--max-duration", f"{seconds + 10}s", *urls], name="bench",
                               expect_exit=(0, 1)).start())
        self.t0 = time.time()
        self.base = f"http://{HOST}:{self.admin}"

    def fault(self, at):
        d = self.t0 + at - time.time()
        if d > 0:
            time.sleep(d)
        st, _, _ = http_json("POST", f"http://{HOST}:{self.dport}/_faults",
                             {"endpoint": "/api/products/", "latency_ms": 800})
        assert st == 200
        return time.time()

    def restart(self):
        """The gateway stopped and started again on the same store."""
        self.gw.stop()
        self.gw._cleanup()
        self.procs.remove(self.gw)
        self.gw = gateway(self.port, self.admin, [self.dport], "--store", self.store,
                          config=self.cfg)
        self.procs.insert(1, self.gw)

    def incident(self, i=1):
        st, _, body = http_json("GET", f"{self.base}/api/v1/incidents/{i}")
        return body if st == 200 else None

    def timeline(self, i=1):
        inc = self.incident(i)
        return inc["timeline"] if inc else []

    def close(self):
        for p in reversed(self.procs):
            p.stop()
            p._cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


def ts(iso):
    from datetime import datetime, timezone
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def first(tl, kind, contains=""):
    for e in tl:
        if e["kind"] == kind and contains in e["text"]:
            return e
    return None


def auto_loop():
    lp = Loop("{mode: auto, cooldown: 3s, settle: 4s, verify: 10s, hold: 6s, min_samples: 4}")
    try:
        t_fault = lp.fault(30)
        wait_until(lambda: first(lp.timeline(), "verdict", "helped"), timeout=60,
                   what="a helped verdict")
        inc = lp.incident()
        tl = inc["timeline"]
        assert inc["opened_by"] == "alert" and inc["alerts"][0]["alertname"] == "EndpointSlow"
        d = inc["diagnosis"]
        assert d["scope"] == "targeted" and d["pattern"] == "sudden", d
        assert [a["endpoint"] for a in d["affected"]] == ["product"], d["affected"]
        match = first(tl, "mitigation", "playbook slow-endpoint matches (auto)")
        sent = [e for e in tl if e["kind"] == "mitigation" and " sent " in e["text"]]
        assert match and sent, tl
        helped = first(tl, "verdict", "helped")
        # Each action is an audited control change by the playbook, with its verdict.
        acts = [a for a in inc["actions_taken"] if a["by"] == "playbook:slow-endpoint"
                and a["method"] in ("PUT", "POST")]
        assert any(a["op"] == "BREAKER" and a["verdict"] == "helped" for a in acts), acts
        st, _, audit = http_json("GET", f"{lp.base}/api/v1/system/audit")
        assert any(r["actor"] == "playbook:slow-endpoint" for r in audit["entries"]), audit
        # Recovery: the alert resolves while the fault is still in demo-api.
        wait_until(lambda: first(lp.timeline(), "alert", "resolved"), timeout=30,
                   what="the alert resolved")
        tl = lp.timeline()
        alert = first(tl, "alert", "firing")
        diag = first(tl, "diagnosis")
        resolved = first(tl, "alert", "resolved")
        fig = {"alert": ts(alert["ts"]) - t_fault, "diagnosis": ts(diag["ts"]) - t_fault,
               "mitigation": ts(sent[0]["ts"]) - t_fault,
               "helped_verdict": ts(helped["ts"]) - t_fault,
               "recovery": ts(resolved["ts"]) - t_fault}
        print("figures (s after the fault): " +
              ", ".join(f"{k} {v:.1f}" for k, v in fig.items()), flush=True)
        assert 0 < fig["alert"] <= fig["diagnosis"] <= fig["mitigation"] < fig["recovery"], fig
        # The incident resolves after its quiet period; after the hold, the undo.
        wait_until(lambda: first(lp.timeline(), "undo"), timeout=40, what="the undo")
        assert lp.incident()["status"] in ("resolved", "open"), lp.incident()["status"]
        # The report of this incident, both formats.
        st, hdrs, md = http("GET", f"{lp.base}/api/v1/incidents/1/report")
        assert st == 200 and hdrs["Content-Type"].startswith("text/markdown"), st
        md = md.decode()
        assert "BREAKER" in md and "helped" in md and "## Timeline" in md, md[:2000]
        st, hdrs, page = http("GET", f"{lp.base}/api/v1/incidents/1/report?format=html")
        assert st == 200 and hdrs["Content-Type"].startswith("text/html") and b"<svg" in page
        return page
    finally:
        lp.close()


def kill_switch():
    lp = Loop("{mode: auto, enabled: false, cooldown: 3s, settle: 4s, verify: 10s}", seconds=55)
    try:
        lp.fault(28)
        wait_until(lambda: first(lp.timeline(), "mitigation", "switched off"), timeout=40,
                   what="the refusal noted")
        tl = lp.timeline()
        assert not [e for e in tl if " sent " in e["text"]], tl
        st, _, audit = http_json("GET", f"{lp.base}/api/v1/system/audit")
        assert not any(r["actor"].startswith("playbook:") for r in audit["entries"]), audit
    finally:
        lp.close()


def undo_after_restart():
    """A restart between the verdict and the undo: the actions still in force are read
    back from the incident's timeline and undone after the incident resolves."""
    lp = Loop("{mode: auto, cooldown: 3s, settle: 4s, verify: 10s, hold: 8s, min_samples: 4}",
              seconds=100)
    try:
        lp.fault(30)
        wait_until(lambda: first(lp.timeline(), "verdict", "helped"), timeout=60,
                   what="a helped verdict")
        assert not first(lp.timeline(), "undo")
        lp.restart()
        wait_until(lambda: first(lp.timeline(), "mitigation", "restored after a restart"),
                   timeout=15, what="the playbook restored")
        wait_until(lambda: first(lp.timeline(), "undo", "back as they were"), timeout=60,
                   what="the undo after the restart")
        st, _, cfg = http_json("GET", f"{lp.base}/api/v1/system/config")
        assert not [k for k in cfg["overrides"] if "circuit_breaker" in k], cfg["overrides"]
    finally:
        lp.close()


def render(page):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        subprocess.run([os.path.join(os.environ.get("TG_SRC", "."), "scripts", "install-deps.sh")],
                       check=False)
        chromium = shutil.which("chromium")
    assert chromium, "chromium is needed to render the report (scripts/install-deps.sh)"
    d = tempfile.mkdtemp(prefix="tg-report-")
    html, png = os.path.join(d, "report.html"), os.path.join(os.getcwd(), "incident_report.png")
    with open(html, "wb") as f:
        f.write(page)
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={d}/profile", "--window-size=1200,2400",
                    f"--screenshot={png}", f"file://{html}"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    assert os.path.getsize(png) > 20000, os.path.getsize(png)
    print(f"report screenshot: {png}", flush=True)
    shutil.rmtree(d, ignore_errors=True)


def test_loop_kill_switch_and_restart():
    page, _, _ = parallel([auto_loop, kill_switch, undo_after_restart], timeout=170)
    render(page)


def test_playbooks_api():
    port, admin, dport = free_port(), free_port(), free_port()
    with demo_api(dport), gateway(port, admin, [dport]):
        base = f"http://{HOST}:{admin}/api/v1/system/playbooks"
        st, _, body = http_json("GET", base)
        assert st == 200 and body["enabled"] is True and body["incidents"] == [], body
        assert [r["name"] for r in body["rules"]] == ["slow-server", "failing-dependency",
                                                      "error-burst", "system-overload",
                                                      "slow-endpoint"], body
        assert all(r["mode"] == "suggest" for r in body["rules"]), body
        for bad, field in (({"enabled": "no"}, "enabled"), ({"max_actions": 9}, "max_actions"),
                           ({"rules": []}, "rules"), ({"bogus": 1}, "bogus")):
            st, _, body = http_json("PUT", base, bad)
            assert st in (400, 409) and body["field"] == field, (bad, st, body)
        st, _, body = http_json("PUT", base, {"enabled": False, "dry_run": True})
        assert st == 200 and body["effective"]["enabled"] is False, body
        st, _, body = http_json("GET", base)
        assert body["enabled"] is False and body["dry_run"] is True, body


if __name__ == "__main__":
    run_tests()
