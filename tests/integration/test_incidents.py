# SPDX-License-Identifier: MIT
"""Incidents and events end to end (docs/api.md, "Incidents and events"). A gateway in
front of demo-api scrapes itself every 200 ms and evaluates two latency rules with a
short `for`; latency injected into demo-api fires the first, which opens one incident,
then the second, which joins it. A control change shows in its timeline and in its
actions; the incident survives a restart on the same store file; closing it early answers
409 with every missing field and the firing alerts, and closing it after the fault is
gone, the quiet period has passed and every field is filled works. Events: POST and GET,
with the audit log's control changes in the same list. Bad bodies, unknown fields and
hostile ids answer 400/404 with the field named.
"""
import os
import tempfile
import time

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"

RULES = """groups:
- name: latency
  interval: 300ms
  rules:
  - alert: ProductsSlow
    expr: histogram_quantile(0.95, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket{endpoint="/api/products"}[2s]))) > 0.2
    for: 1s
    labels: {severity: warning}
  - alert: ProductsVerySlow
    expr: histogram_quantile(0.95, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket{endpoint="/api/products"}[2s]))) > 0.3
    for: 3s
    labels: {severity: critical}
"""

CONFIG = ("tsdb: {scrape_interval: 200ms}\n"
          "rules: {files: [rules.yml]}\n"
          "incidents: {quiet_period: 2s}\n")


class Load:
    """GET /api/products through the gateway until stopped: bounded in time and count."""

    def __init__(self, port, limit=20000, seconds=120):
        import threading
        self.stop_flag = False
        self.sent = 0

        def run():
            deadline = time.monotonic() + seconds
            while not self.stop_flag and self.sent < limit and time.monotonic() < deadline:
                try:
                    http("GET", f"http://{HOST}:{port}/api/products", timeout=5)
                except OSError:
                    pass
                self.sent += 1
                time.sleep(0.01)

        self.t = threading.Thread(target=run, daemon=True)
        self.t.start()

    def stop(self):
        self.stop_flag = True
        self.t.join(10)


def api(admin, method, path, obj=None):
    return http_json(method, f"http://{HOST}:{admin}{path}", obj, timeout=10)


def incidents(admin, status=None):
    q = f"?status={status}" if status else ""
    st, _, v = api(admin, "GET", f"/api/v1/incidents{q}")
    assert st == 200, (st, v)
    return v["incidents"]


def workdir():
    d = tempfile.mkdtemp(prefix="tg-inc-")
    with open(os.path.join(d, "rules.yml"), "w") as f:
        f.write(RULES)
    cfg = os.path.join(d, "tailguard.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    return d, cfg


FILLED = {
    "root_cause": "a slow query behind /api/products",
    "lessons_learned": "alert on the query's latency too",
    "prevention_measures": ["index on products.category"],
    "follow_up": [{"item": i, "state": "planned"} for i in (
        "monitoring improvements", "update runbooks", "code improvements",
        "infrastructure optimizations", "team training updates")],
}


def checklist_all(inc):
    return {phase: [{"item": e["item"], "state": "checked"} for e in items]
            for phase, items in inc["checklist"].items()}


def test_alerts_open_one_incident_that_survives_a_restart_and_closes_by_the_rule():
    d, cfg = workdir()
    store = os.path.join(d, "store.db")
    api_port, port, admin = free_port(), free_port(), free_port()
    with demo_api(api_port, latency_scale=0) as demo:
        with gateway(port, admin, [api_port], "--store", store, config=cfg):
            load = Load(port)
            try:
                time.sleep(1.5)
                assert incidents(admin) == []
                st, _, _ = http_json("POST", f"http://{HOST}:{api_port}/_faults",
                                     {"endpoint": "/api/products", "latency_ms": 400})
                assert st == 200
                wait_until(lambda: len(incidents(admin)) == 1, timeout=scaled(20, 60),
                           what="an incident opened by the first alert")
                inc_id = incidents(admin)[0]["id"]
                # The second rule fires later into the same incident, not a new one.
                wait_until(lambda: len(api(admin, "GET", f"/api/v1/incidents/{inc_id}")[2]
                                       ["alerts"]) == 2,
                           timeout=scaled(20, 60), what="the second alert joins")
                assert len(incidents(admin)) == 1
                _, _, inc = api(admin, "GET", f"/api/v1/incidents/{inc_id}")
                assert inc["status"] == "open" and inc["opened_by"] == "alert", inc
                assert {a["alertname"] for a in inc["alerts"]} == {"ProductsSlow",
                                                                   "ProductsVerySlow"}
                assert inc["severity"] == "SEV-1", inc  # critical label, the highest seen
                assert inc["ack_deadline"] is not None
                assert inc["escalation_level"] == "L1"
                kinds = [e["kind"] for e in inc["timeline"]]
                assert kinds[0] == "status" and kinds.count("alert") >= 2, kinds
                assert [c["kind"] for c in inc["communications"]] == ["detected"]
                # A control change joins the timeline and actions_taken.
                st, _, v = api(admin, "PUT", "/api/v1/system/circuit-breaker",
                               {"enabled": True, "timeout_ms": 5000,
                                "failure_threshold": 0.5, "recovery_time": 60})
                assert st == 200, (st, v)
                _, _, inc = api(admin, "GET", f"/api/v1/incidents/{inc_id}")
                cc = [e for e in inc["timeline"] if e["kind"] == "control_change"]
                assert len(cc) == 1 and "circuit-breaker" in cc[0]["text"], inc["timeline"]
                assert cc[0]["data"]["audit_id"] > 0 and cc[0]["data"]["new"], cc
                acts = inc["actions_taken"]
                assert [(a["op"], a["method"], a["path"]) for a in acts] == [
                    ("BREAKER", "PUT", "/api/v1/system/circuit-breaker")], acts
                # Closing while the alerts fire: 409 naming every missing field and alert.
                st, _, v = api(admin, "PUT", f"/api/v1/incidents/{inc_id}",
                               {"status": "closed"})
                assert st == 409, (st, v)
                assert any(m.startswith("alert still firing") for m in v["missing"]), v
                # Fields are kept across a restart.
                st, _, v = api(admin, "PUT", f"/api/v1/incidents/{inc_id}",
                               {"root_cause": "a slow query behind /api/products"})
                assert st == 200, (st, v)
            finally:
                load.stop()
        # The same store file: the incident, its fields and its alerts come back.
        with gateway(port, admin, [api_port], "--store", store, config=cfg):
            _, _, inc = api(admin, "GET", f"/api/v1/incidents/{inc_id}")
            assert inc["root_cause"] == "a slow query behind /api/products", inc
            assert len(inc["alerts"]) == 2 and inc["status"] == "open", inc
            assert len(incidents(admin, "open")) == 1
            # The rule engine starts afresh: the same alerts fire again into the same
            # incident (flapping stays in one incident), then resolve once the fault is
            # gone, and after the quiet period the incident is resolved.
            load = Load(port)
            try:
                wait_until(lambda: sum(e["text"].endswith("fired again") or
                                       " fired again;" in e["text"] for e in
                                       api(admin, "GET", f"/api/v1/incidents/{inc_id}")[2]
                                       ["timeline"]) >= 1,
                           timeout=scaled(20, 60), what="an alert fires again after the restart")
                st, _, _ = http("DELETE", f"http://{HOST}:{api_port}/_faults")
                assert st == 200
                wait_until(lambda: api(admin, "GET", f"/api/v1/incidents/{inc_id}")[2]
                           ["status"] == "resolved", timeout=scaled(30, 90),
                           what="resolved after every alert resolved and the quiet period")
            finally:
                load.stop()
            _, _, inc = api(admin, "GET", f"/api/v1/incidents/{inc_id}")
            assert len(incidents(admin)) == 1, incidents(admin)
            assert all(a["state"] == "resolved" for a in inc["alerts"]), inc["alerts"]
            assert [c["kind"] for c in inc["communications"]] == ["detected", "resolved"], inc
            st, _, v = api(admin, "PUT", f"/api/v1/incidents/{inc_id}", {"status": "closed"})
            assert st == 409 and "lessons_learned" in v["missing"], v
            assert "root_cause" not in v["missing"] and "actions_taken" not in v["missing"], v
            body = dict(FILLED, checklist=checklist_all(inc), status="closed")
            st, _, inc = api(admin, "PUT", f"/api/v1/incidents/{inc_id}", body)
            assert st == 200 and inc["status"] == "closed", (st, inc)
    demo.stop()


def test_alert_that_ended_while_the_gateway_was_down_resolves_after_the_restart():
    """The rule engine keeps no alert state across a restart: an alert whose condition
    ended while the gateway was down never sends its "resolved". Once every group has been
    evaluated after the start and does not hold it as pending or firing, it is resolved,
    and the incident resolves after the quiet period instead of staying open for ever."""
    d, cfg = workdir()
    store = os.path.join(d, "store.db")
    api_port, port, admin = free_port(), free_port(), free_port()
    with demo_api(api_port, latency_scale=0):
        with gateway(port, admin, [api_port], "--store", store, config=cfg):
            load = Load(port)
            try:
                st, _, _ = http_json("POST", f"http://{HOST}:{api_port}/_faults",
                                     {"endpoint": "/api/products", "latency_ms": 400})
                assert st == 200
                wait_until(lambda: len(incidents(admin)) == 1, timeout=scaled(20, 60),
                           what="an incident opened by the first alert")
            finally:
                load.stop()
        inc_id = None
        st, _, _ = http("DELETE", f"http://{HOST}:{api_port}/_faults")
        assert st == 200
        with gateway(port, admin, [api_port], "--store", store, config=cfg):
            inc_id = incidents(admin)[0]["id"]
            _, _, inc = api(admin, "GET", f"/api/v1/incidents/{inc_id}")
            assert any(a["state"] == "firing" for a in inc["alerts"]), inc["alerts"]
            load = Load(port)
            try:
                wait_until(lambda: api(admin, "GET", f"/api/v1/incidents/{inc_id}")[2]
                           ["status"] == "resolved", timeout=scaled(20, 60),
                           what="resolved after the restart without the alert firing again")
            finally:
                load.stop()
            _, _, inc = api(admin, "GET", f"/api/v1/incidents/{inc_id}")
            assert all(a["state"] == "resolved" for a in inc["alerts"]), inc["alerts"]


def test_close_rule_names_every_missing_field_then_closes():
    d, cfg = workdir()
    api_port, port, admin = free_port(), free_port(), free_port()
    with demo_api(api_port, latency_scale=0), \
            gateway(port, admin, [api_port], config=cfg):
        st, _, inc = api(admin, "POST", "/api/v1/incidents",
                         {"title": "checkout slow", "severity": "SEV-2", "text": "paged"})
        assert st == 201, (st, inc)
        assert inc["opened_by"] == "api" and inc["severity"] == "SEV-2", inc
        assert inc["ack_deadline"] is not None
        assert [e["kind"] for e in inc["timeline"]] == ["status", "note"], inc["timeline"]
        i = inc["id"]
        st, _, v = api(admin, "PUT", f"/api/v1/incidents/{i}", {"status": "closed"})
        assert st == 409, (st, v)
        missing = v["missing"]
        for f in ("root_cause", "actions_taken", "lessons_learned", "prevention_measures",
                  "follow_up: monitoring improvements",
                  "checklist.investigation: Initial metrics collected",
                  "checklist.post_resolution: Follow-up monitoring scheduled"):
            assert f in missing, (f, missing)
        assert len(missing) == 4 + 5 + 20, missing  # resolved is added by the close itself
        # Nothing changed: still open.
        _, _, inc = api(admin, "GET", f"/api/v1/incidents/{i}")
        assert inc["status"] == "open", inc
        body = dict(FILLED, checklist=checklist_all(inc),
                    actions_taken=[{"op": "SCALE", "method": "POST",
                                    "path": "/api/v1/system/scale",
                                    "body": {"instances": 3}, "verdict": "helped"}],
                    communications=[{"kind": "update", "text": "mitigated"}])
        st, _, inc = api(admin, "PUT", f"/api/v1/incidents/{i}", body)
        assert st == 200, (st, inc)
        assert inc["actions_taken"][0]["verdict"] == "helped", inc
        st, _, inc = api(admin, "PUT", f"/api/v1/incidents/{i}", {"status": "closed"})
        assert st == 200, (st, inc)
        assert inc["status"] == "closed" and inc["closed_at"] and inc["resolved_at"], inc
        assert [c["kind"] for c in inc["communications"]] == ["detected", "update",
                                                               "resolved"], inc
        st, _, v = api(admin, "PUT", f"/api/v1/incidents/{i}", {"root_cause": "x"})
        assert st == 409, (st, v)
        assert incidents(admin, "closed")[0]["id"] == i
        # Audited.
        _, _, a = api(admin, "GET", "/api/v1/system/audit")
        assert any(e["action"] == f"PUT /api/v1/incidents/{i}" for e in a["entries"]), a


def test_events_and_control_changes_in_one_list():
    d, cfg = workdir()
    api_port, port, admin = free_port(), free_port(), free_port()
    with demo_api(api_port, latency_scale=0), \
            gateway(port, admin, [api_port], config=cfg):
        st, _, v = api(admin, "POST", "/api/v1/events",
                       {"type": "deploy", "service": "api", "version": "1.2.3"})
        assert st == 201, (st, v)
        st, _, _ = api(admin, "PUT", "/api/v1/system/rate-limit",
                       {"enabled": True, "requests_per_minute": 1000})
        assert st == 200
        st, _, v = api(admin, "POST", "/api/v1/events",
                       {"type": "db.migration", "text": "add index",
                        "labels": {"team": "data"}, "ts": "2020-01-02T03:04:05.5Z"})
        assert st == 201, (st, v)
        st, _, v = api(admin, "GET", "/api/v1/events")
        assert st == 200, (st, v)
        ev = v["events"]
        assert [e["type"] for e in ev] == ["config_change", "deploy", "db.migration"], ev
        assert ev[0]["source"] == "audit" and ev[0]["audit_id"] > 0, ev
        assert ev[0]["action"] == "PUT /api/v1/system/rate-limit", ev
        assert ev[1]["service"] == "api" and ev[1]["version"] == "1.2.3", ev
        assert ev[2]["ts"] == "2020-01-02T03:04:05.500Z" and ev[2]["labels"] == {"team": "data"}
        _, _, v = api(admin, "GET", "/api/v1/events?type=deploy")
        assert [e["type"] for e in v["events"]] == ["deploy"], v
        _, _, v = api(admin, "GET", "/api/v1/events?since=2021-01-01T00:00:00Z&limit=1")
        assert [e["type"] for e in v["events"]] == ["config_change"], v
        _, _, v = api(admin, "GET", "/api/v1/events?type=config_change")
        assert [e["source"] for e in v["events"]] == ["audit"], v


def test_bad_input_is_refused_with_the_field_named():
    d, cfg = workdir()
    api_port, port, admin = free_port(), free_port(), free_port()
    with demo_api(api_port, latency_scale=0), \
            gateway(port, admin, [api_port], config=cfg):
        for body, field in (({"service": "api"}, "type"),
                            ({"type": "Deploy"}, "type"),
                            ({"type": "deploy", "colour": 1}, "colour"),
                            ({"type": "deploy", "ts": "yesterday"}, "ts"),
                            ({"type": "deploy", "labels": [1]}, "labels")):
            st, _, v = api(admin, "POST", "/api/v1/events", body)
            assert st == 400 and v["field"] == field, (body, st, v)
        st, _, _ = http("POST", f"http://{HOST}:{admin}/api/v1/events", body=b"{\"type\":",
                        headers={"Content-Type": "application/json"})
        assert st == 400
        for q in ("since=soon", "limit=0", "limit=5000", "type=A%20B"):
            st, _, _ = api(admin, "GET", f"/api/v1/events?{q}")
            assert st == 400, q
        st, _, inc = api(admin, "POST", "/api/v1/incidents", {"title": "t"})
        assert st == 201
        i = inc["id"]
        for body, field in (({"bogus": 1}, "bogus"),
                            ({"root_cause": 5}, "root_cause"),
                            ({"status": "done"}, "status"),
                            ({"severity": "P1"}, "severity"),
                            ({"follow_up": [{"item": "coffee", "state": "done"}]}, "follow_up"),
                            ({"checklist": {"lunch": []}}, "checklist.lunch"),
                            ({"communications": [{"kind": "tweet", "text": "x"}]},
                             "communications")):
            st, _, v = api(admin, "PUT", f"/api/v1/incidents/{i}", body)
            assert st == 400 and v["field"] == field, (body, st, v)
        for path in ("/api/v1/incidents/0", "/api/v1/incidents/-1", "/api/v1/incidents/abc",
                     "/api/v1/incidents/99999", "/api/v1/incidents/1%00",
                     "/api/v1/incidents/99999999999999999999999", "/api/v1/incidents/1x"):
            st, _, _ = api(admin, "GET", path)
            assert st == 404, path
        st, _, _ = api(admin, "PUT", "/api/v1/incidents/99999", {"root_cause": "x"})
        assert st == 404
        st, _, _ = api(admin, "DELETE", f"/api/v1/incidents/{i}")
        assert st == 405
        st, _, v = api(admin, "POST", "/api/v1/incidents", {"title": ""})
        assert st == 400 and v["field"] == "title", v


if __name__ == "__main__":
    run_tests()
