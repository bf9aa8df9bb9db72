# SPDX-License-Identifier: MIT
"""The control API as the runbooks use it: each of their calls on the proxy port
(admin.mount_on_proxy) takes effect without a restart, is in the audit log, survives a
restart (same store) and a reload; GET /api/v1/system/config shows each setting's layer;
bad input (malformed JSON, an unknown field, a wrong type, a value out of range, a wrong
content type, a missing or wrong token) changes nothing and writes no audit row."""

import json
import os
import shutil
import signal
import tempfile
import time

from tgtest import *

J = {"Content-Type": "application/json"}


def config(port, admin, api_port, extra="", admin_extra=""):
    return (f'listen: "127.0.0.1:{port}"\n'
            f'admin: {{ listen: "127.0.0.1:{admin}", mount_on_proxy: true{admin_extra} }}\n'
            f'upstreams: [{{name: api, servers: ["127.0.0.1:{api_port}"]}}]\n'
            'routes:\n'
            '  - { name: products, path: /api/products }\n'
            '  - { name: report, path: "/api/analytics/:report", feature: analytics }\n'
            '  - { name: for-you, path: /api/for-you, feature: recommendations }\n'
            '  - { name: search, path: /api/search }\n' + extra)


def start(store, extra="", env=None, api_port=None, admin_extra=""):
    port, admin = free_port(), free_port()
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    f.write(config(port, admin, api_port, extra, admin_extra))
    f.close()
    g = Proc([BIN, "run", "-c", f.name, "--store", store,
              "--tsdb", ":memory:"], name=f"gateway:{port}", env=env)
    g.tmpfiles.append(f.name)
    g.start()
    g.wait_port(port)
    g.wait_port(admin)
    g.port, g.admin, g.config_path = port, admin, f.name
    return g


def put(g, path, obj, method="PUT", headers=None, port=None):
    body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
    h = dict(J)
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    st, _, b = http(method, f"http://127.0.0.1:{port or g.port}/api/v1/system/{path}", body, h)
    try:
        return st, json.loads(b)
    except ValueError:
        return st, b


def settings(g):
    st, _, v = http_json("GET", f"http://127.0.0.1:{g.admin}/api/v1/system/config")
    assert st == 200, (st, v)
    return {s["key"]: s for s in v["settings"]}, v["overrides"]


def audit(g):
    st, _, v = http_json("GET", f"http://127.0.0.1:{g.admin}/api/v1/system/audit?limit=1000")
    assert st == 200, (st, v)
    return v["entries"]


def status(g, path):
    return http("GET", f"http://127.0.0.1:{g.port}{path}")[0]


def store_path():
    d = tempfile.mkdtemp(prefix="tg-control-")
    return os.path.join(d, "state.db")


def test_runbook_calls_take_effect_and_persist():
    store = store_path()
    api = free_port()
    with demo_api(api, latency_scale=0):
        with start(store, api_port=api) as g:
            assert status(g, "/api/analytics/daily") == 200
            # The runbook's immediate-relief calls, literally (000:66-244).
            calls = [
                ("circuit-breaker", {"enabled": True, "timeout_ms": 5000,
                                     "failure_threshold": 0.5, "recovery_time": 60}),
                ("timeouts", {"default_ms": 10000, "critical_ms": 30000}),
                ("tracing", {"enabled": True, "sample_rate": 0.1}),
            ]
            for path, body in calls:
                st, v = put(g, path, body)
                assert st == 200, (path, st, v)
                for k, val in body.items():
                    assert v["effective"][k] == val, (path, k, v)
            st, v = put(g, "features/disable", {"features": ["analytics", "recommendations"]},
                        method="POST")
            assert st == 200, v
            assert v["disabled"] == ["analytics", "recommendations"]
            assert v["shed"]["analytics"]["routes"] == ["report"], v
            # In effect within a second, without a restart: exactly those routes shed.
            wait_until(lambda: status(g, "/api/analytics/daily") == 503, timeout=1,
                       what="analytics shed")
            st, h, b = http("GET", f"http://127.0.0.1:{g.port}/api/for-you")
            assert st == 503 and h.get("retry-after"), (st, h)
            assert json.loads(b)["feature"] == "recommendations"
            for p in ("/api/products", "/api/search"):
                assert status(g, p) != 503, p
            st, v = put(g, "workers", {"count": 2})
            assert st == 200 and v["effective"]["workers"] == 2, (st, v)
            st, v = put(g, "gc", b"", method="POST", headers={"Content-Type": None})
            assert st == 200 and v["rss_after_bytes"] > 0, (st, v)
            cfg, ov = settings(g)
            assert cfg["timeouts.default_ms"]["value"] == 10000
            assert cfg["timeouts.default_ms"]["layer"] == "override"
            assert cfg["timeouts.idle_ms"]["layer"] == "default"
            assert cfg["circuit_breaker.enabled"]["set_by"] == "127.0.0.1"
            assert cfg["workers"]["live"] is True and cfg["workers"]["value"] == 2
            assert ov["features.disabled"] == ["analytics", "recommendations"]
            rows = audit(g)
            actions = [r["action"] for r in rows]
            for path, _ in calls:
                assert f"PUT /api/v1/system/{path}" in actions, actions
            assert "POST /api/v1/system/features/disable" in actions
            assert "POST /api/v1/system/gc" in actions
            tr = next(r for r in rows if r["action"] == "PUT /api/v1/system/tracing")
            assert tr["old"]["tracing.sample_rate"] == 0.01, tr
            assert tr["new"]["tracing.sample_rate"] == 0.1, tr
            n_rows = len(rows)
        # A restart with the same store: every change still in effect.
        with start(store, api_port=api) as g:
            assert status(g, "/api/analytics/daily") == 503
            cfg, ov = settings(g)
            assert cfg["timeouts.critical_ms"]["value"] == 30000
            assert cfg["tracing.sample_rate"]["value"] == 0.1
            assert cfg["circuit_breaker.timeout_ms"]["layer"] == "override"
            assert len(audit(g)) == n_rows
            # A reload keeps them too.
            g.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            assert status(g, "/api/analytics/daily") == 503
            # features/enable undoes; DELETE of an override drops it.
            st, v = put(g, "features/enable", {"features": ["analytics"]}, method="POST")
            assert st == 200 and v["disabled"] == ["recommendations"], v
            wait_until(lambda: status(g, "/api/analytics/daily") == 200, timeout=1,
                       what="analytics restored")
            assert status(g, "/api/for-you") == 503
            st, _, b = http("DELETE", f"http://127.0.0.1:{g.admin}/api/v1/system/overrides/"
                            "tracing.sample_rate")
            assert st == 200, b
            cfg, ov = settings(g)
            assert cfg["tracing.sample_rate"]["value"] == 0.01
            assert cfg["tracing.sample_rate"]["layer"] == "default"
            st, _, _ = http("DELETE", f"http://127.0.0.1:{g.admin}/api/v1/system/overrides/"
                            "tracing.sample_rate")
            assert st == 404


def test_bad_input_changes_nothing():
    store = store_path()
    api = free_port()
    with demo_api(api, latency_scale=0):
        with start(store, api_port=api) as g:
            before, ov_before = settings(g)
            n = len(audit(g))
            bad = [
                ("circuit-breaker", b'{"enabled": true,', 400, None),      # malformed
                ("circuit-breaker", {"enabled": True, "timeout": 5000}, 400, "timeout"),
                ("circuit-breaker", {"enabled": "yes"}, 400, "enabled"),
                ("circuit-breaker", {"timeout_ms": 0}, 400, "timeout_ms"),
                ("circuit-breaker", {"failure_threshold": 1.5}, 400, "failure_threshold"),
                ("circuit-breaker", {"enabled": True, "upstream": "nope"}, 400, None),
                ("circuit-breaker", [1, 2], 400, None),
                ("circuit-breaker", {}, 400, None),
                ("timeouts", {"default_ms": -5}, 400, "default_ms"),
                ("timeouts", {"idle_ms": 5}, 400, "idle_ms"),
                ("rate-limit", {"requests_per_minute": "1000"}, 400, "requests_per_minute"),
                ("tracing", {"sample_rate": 2}, 400, "sample_rate"),
                ("tracing", {"buffer": 64}, 409, "buffer"),
                ("workers", {"count": 0}, 400, "count"),
                ("workers", {"count": 4, "x": 1}, 400, "x"),
                ("nope", {"enabled": True}, 404, None),
            ]
            for path, body, want, field in bad:
                st, v = put(g, path, body)
                assert st == want, (path, body, st, v)
                if field:
                    assert v.get("field") == field, (path, body, v)
            st, v = put(g, "features/disable", {"features": ["a b"]}, method="POST")
            assert st == 400 and v["field"] == "features", v
            st, v = put(g, "features/disable", {"features": []}, method="POST")
            assert st == 400, v
            st, v = put(g, "timeouts", {"default_ms": 5},
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert st == 415, v
            st, v = put(g, "timeouts", {"default_ms": 5}, method="POST")
            assert st == 405, v
            # Duplicate keys are ambiguous: refused.
            st, v = put(g, "timeouts", b'{"default_ms": 5, "default_ms": 6}')
            assert st == 400, v
            after, ov_after = settings(g)
            assert ov_after == ov_before
            assert {k: s["value"] for k, s in after.items()} == \
                {k: s["value"] for k, s in before.items()}
            assert len(audit(g)) == n, audit(g)[:3]


def test_token():
    store = store_path()
    api = free_port()
    tok = tempfile.NamedTemporaryFile("w", suffix=".token", delete=False)
    tok.write("s3cret-token\n")
    tok.close()
    try:
        with demo_api(api, latency_scale=0):
            with start(store, env=dict(os.environ, TAILGUARD_ADMIN_TOKEN="s3cret-token"),
                       api_port=api) as g:
                body = {"default_ms": 12000}
                st, v = put(g, "timeouts", body, port=g.admin)
                assert st == 401, (st, v)
                st, v = put(g, "timeouts", body, port=g.admin,
                            headers={"Authorization": "Bearer wrong"})
                assert st == 401, (st, v)
                st, v = put(g, "timeouts", body, port=g.admin,
                            headers={"Authorization": "Bearer s3cret-token-and-more"})
                assert st == 401, (st, v)
                assert len(audit(g)) == 0
                assert settings(g)[0]["timeouts.default_ms"]["value"] == 30000
                st, v = put(g, "timeouts", body, port=g.admin,
                            headers={"Authorization": "Bearer s3cret-token"})
                assert st == 200, (st, v)
                rows = audit(g)
                assert len(rows) == 1 and rows[0]["actor"] == "token@127.0.0.1", rows
        # A token file works the same way (and wins over the environment); the token
        # never shows in the config view.
        with demo_api(api, latency_scale=0):
            with start(store_path(), api_port=api, admin_extra=f", token_file: {tok.name}",
                       env=dict(os.environ, TAILGUARD_ADMIN_TOKEN="other")) as g:
                st, v = put(g, "timeouts", {"default_ms": 12000},
                            headers={"Authorization": "Bearer other"})
                assert st == 401, (st, v)
                st, v = put(g, "timeouts", {"default_ms": 12000},
                            headers={"Authorization": "Bearer s3cret-token"})
                assert st == 200, (st, v)
                cfg, _ = settings(g)
                assert not any("token" in k for k in cfg), [k for k in cfg if "token" in k]
    finally:
        os.unlink(tok.name)


def test_non_loopback_admin_needs_a_token():
    api = free_port()
    argv = [BIN, "run", "--listen", f"127.0.0.1:{free_port()}", "--admin",
            f"0.0.0.0:{free_port()}", "--upstream", f"127.0.0.1:{api}"]
    with Proc(argv, name="gateway-open", expect_exit=(2,)) as g:
        assert g.wait_exit(10) == 2
        assert "no admin token is set" in g.log(), g.log()
    env = dict(os.environ, TAILGUARD_ADMIN_TOKEN="t0ken")
    admin = free_port()
    argv = [BIN, "run", "--listen", f"127.0.0.1:{free_port()}", "--admin",
            f"0.0.0.0:{admin}", "--upstream", f"127.0.0.1:{api}", "--store", ":memory:"]
    with Proc(argv, name="gateway-token", env=env) as g:
        g.wait_port(admin)


def test_damaged_store_is_an_error_at_start():
    d = tempfile.mkdtemp(prefix="tg-control-")
    bad = os.path.join(d, "state.db")
    with open(bad, "wb") as f:
        f.write(b"this is not a database" * 100)
    argv = [BIN, "run", "--listen", f"127.0.0.1:{free_port()}", "--admin",
            f"127.0.0.1:{free_port()}", "--upstream", "127.0.0.1:1", "--store", bad]
    with Proc(argv, name="gateway-badstore", expect_exit=(2,)) as g:
        assert g.wait_exit(10) == 2
        assert bad in g.log(), g.log()
    with open(bad, "rb") as f:
        assert f.read().startswith(b"this is not a database")  # left as it was


def test_app_specific_paths_without_the_app_part_are_unsupported():
    # The runbooks' agent calls go to the application; one without an agent pool
    # answers 404, and the caller gets 501 "unsupported" instead of a bare 404.
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    class NotFound(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self):
            n = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(n)
            body = b"ok" if self.path == "/api/products" else b"no such thing"
            self.send_response(200 if self.path == "/api/products" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass  # the gateway drops a 404 it answers 501 for, connection and all

        do_GET = do_PUT = do_POST = answer

    srv = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        g = start(":memory:", api_port=srv.server_address[1])
        with g:
            for method, path, body in (
                    ("PUT", "agents/config", {"max_coalition_size": 5}),
                    ("POST", "agents/coordination/cleanup", b"")):
                st, v = put(g, path, body, method=method)
                assert st == 501 and v["status"] == "unsupported", (path, st, v)
                assert v["component"] == "agents", v
            st, _, b = http("GET", f"http://127.0.0.1:{g.port}/api/v1/monitoring/agents/pool")
            assert st == 501 and json.loads(b)["status"] == "unsupported", (st, b)
            # Other 404s of the application pass through as they are.
            st, _, b = http("GET", f"http://127.0.0.1:{g.port}/api/nothing")
            assert st == 404 and b == b"no such thing", (st, b)
            assert http("GET", f"http://127.0.0.1:{g.port}/api/products")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_two_gateways_cannot_share_a_store():
    d = tempfile.mkdtemp(prefix="tg-control-")
    path = os.path.join(d, "state.db")
    try:
        first = free_port()
        argv = [BIN, "run", "--listen", f"127.0.0.1:{free_port()}", "--admin",
                f"127.0.0.1:{first}", "--upstream", "127.0.0.1:1", "--store", path]
        with Proc(argv, name="gateway-owner") as g:
            g.wait_port(first)
            argv2 = [BIN, "run", "--listen", f"127.0.0.1:{free_port()}", "--admin",
                     f"127.0.0.1:{free_port()}", "--upstream", "127.0.0.1:1", "--store", path]
            with Proc(argv2, name="gateway-second", expect_exit=(2,)) as g2:
                assert g2.wait_exit(10) == 2
                assert "in use by another tailguard process" in g2.log(), g2.log()
            # the first one is untouched and keeps its store
            st, _, _ = http("GET", f"http://127.0.0.1:{first}/health")
            assert st == 200
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests()
