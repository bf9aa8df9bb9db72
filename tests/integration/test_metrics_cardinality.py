# SPDX-License-Identifier: MIT
"""Endpoint metrics must not amplify memory: an anonymous client sending random paths that
an upstream answers 200 must not be able to grow the gateway's memory or its /metrics
much. Paths seen once count as "other" (probation); a path template becomes an endpoint at
its second sighting; endpoints made from paths age out after `endpoints.idle_timeout`
(their series leave /metrics, their memory is freed, their ids serve new names); route
names never age. The upstream is tests/integration/upstream_stub.py, which answers 200 "ok"
for any path it has no special meaning for.

Memory is VmRSS of the gateway from /proc/<pid>/status, compared with the value after a
warm-up (first requests, first scrape), so start-up allocations are not counted."""

import random
import shutil
import string
import subprocess
import time

import http.client as httpclient

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

HOST = "127.0.0.1"
AGG_WAIT = 2.5  # the aggregate is folded once a second: two ticks and some slack
MB = 1024 * 1024


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def gets(port, paths, deadline_s=240):
    """Sends each path on one keep-alive connection; returns the statuses."""
    conn = httpclient.HTTPConnection(HOST, port, timeout=10)
    out = []
    t_end = time.monotonic() + deadline_s
    try:
        for p in paths:
            assert time.monotonic() < t_end, f"gave up after {len(out)} requests"
            conn.request("GET", p)
            r = conn.getresponse()
            r.read()
            out.append(r.status)
    finally:
        conn.close()
    return out


def scrape(admin):
    st, _, body = http("GET", f"http://{HOST}:{admin}/metrics", timeout=30)
    assert st == 200, st
    return body


def samples(body, name):
    """{frozenset(labels): value} of metric `name` (labels without escapes: the tests'
    paths have none)."""
    out = {}
    for line in body.decode().splitlines():
        if not line.startswith(name) or line[len(name)] not in "{ ":
            continue
        head, value = line.rsplit(" ", 1)
        labels = frozenset()
        if "{" in head:
            inner = head[head.index("{") + 1:head.rindex("}")]
            labels = frozenset(tuple(kv.split("=", 1)) for kv in inner.split('",'))
            labels = frozenset((k, v.strip('"')) for k, v in labels)
        out[labels] = float(value)
    return out


def value(body, name, **want):
    """Sum of the samples of `name` whose labels include `want`."""
    return sum(v for lb, v in samples(body, name).items()
               if all((k, w) in lb for k, w in want.items()))


def endpoints_gauge(admin):
    return value(scrape(admin), "tailguard_endpoints")


def endpoint_labels(body):
    return {dict(lb).get("endpoint") for lb in samples(body, "http_requests_total")}


def random_paths(n, seed, prefix="/r/"):
    """`n` distinct paths whose template is the path itself (letters only, no ids)."""
    rng = random.Random(seed)
    out = set()
    while len(out) < n:
        out.add(prefix + "".join(rng.choice(string.ascii_lowercase) for _ in range(12)))
    return sorted(out)


def promtool_check(body):
    """`promtool check metrics` on `body`: exit 0 and no output."""
    tool = shutil.which("promtool")
    assert tool, "promtool not installed (scripts/install-deps.sh installs it)"
    p = subprocess.run([tool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert p.returncode == 0 and not p.stdout and not p.stderr, (p.stdout, p.stderr)


def config(extra=""):
    # These tests measure the request path's aggregates. The time-series store keeps a
    # scraped series until retention (as Prometheus's head does) within tsdb.max_bytes,
    # which its own tests check (test_tsdb.c: churned series are reclaimed under the
    # cap), so here it scrapes once an hour and its memory stays out of the RSS figures.
    return "workers: 2\ntsdb: { scrape_interval: 1h }\n" + extra


def test_one_off_paths_cost_little():
    """10,000 random paths answered 200, each requested once: they all count as "other"
    (probation), the gateway grows by less than 20 MB and /metrics stays under 1 MB.
    Before: 1,000 endpoints (the bound), +160 MB of RSS, 11 MB and 108,000 lines of
    /metrics."""
    n = scaled(10000, 2000)
    port, admin = free_port(), free_port()
    with Stub() as st, gateway(port, admin, [st.addr()], config=config()) as g:
        warm = ["/warm/a", "/warm/b"] * 100 + random_paths(50, seed=1, prefix="/w/")
        assert gets(port, warm) == [200] * len(warm)
        time.sleep(AGG_WAIT)
        scrape(admin)
        before = rss_bytes(g.pid)
        paths = random_paths(n, seed=2)
        assert gets(port, paths) == [200] * n
        time.sleep(AGG_WAIT)
        body = scrape(admin)
        grown = rss_bytes(g.pid) - before
        lines = body.count(b"\n")
        print(f"{n} one-off paths: RSS +{grown / MB:.1f} MB, /metrics {len(body)} bytes, "
              f"{lines} lines")
        assert grown < 20 * MB, f"RSS grew by {grown / MB:.1f} MB"
        assert len(body) < 1 * MB, len(body)
        assert b'endpoint="/r/' not in body
        assert value(body, "tailguard_endpoints") <= 2  # /warm/a and /warm/b
        assert value(body, "http_requests_total", endpoint="other", status="200") >= n


def test_repeated_paths_bounded_then_aged():
    """The same random paths each requested twice: at most endpoints.max of them become
    endpoints; once idle for endpoints.idle_timeout they are removed, their series leave
    /metrics (which stays promtool-clean) and the gateway's memory goes back down."""
    n = scaled(3000, 1200)
    cap = 1000
    port, admin = free_port(), free_port()
    cfg = config(f"endpoints: {{ max: {cap}, idle_timeout: 3s }}\n")
    with Stub() as st, gateway(port, admin, [st.addr()], config=cfg) as g:
        warm = ["/warm/a", "/warm/b"] * 100
        assert gets(port, warm) == [200] * len(warm)
        time.sleep(AGG_WAIT)
        scrape(admin)
        before = rss_bytes(g.pid)
        paths = random_paths(n, seed=3)
        statuses = gets(port, [p for p in paths for _ in range(2)])
        assert statuses == [200] * (2 * n)
        body = scrape(admin)
        peak_endpoints = value(body, "tailguard_endpoints")
        peak = rss_bytes(g.pid)
        assert 0 < peak_endpoints <= cap, peak_endpoints
        assert len(endpoint_labels(body) - {"other"}) <= cap
        # Aged out: 3 s idle, a grace period of about a second, one tick.
        wait_until(lambda: endpoints_gauge(admin) == 0, timeout=20,
                   what="every endpoint to age out")
        time.sleep(AGG_WAIT)
        body = scrape(admin)
        after = rss_bytes(g.pid)
        print(f"{n} paths twice: {peak_endpoints:.0f} endpoints, RSS +{(peak - before) / MB:.1f}"
              f" MB at the peak, +{(after - before) / MB:.1f} MB after aging; /metrics "
              f"{len(body)} bytes after aging")
        assert b'endpoint="/r/' not in body and b'endpoint="/warm/' not in body
        assert len(body) < 1 * MB, len(body)
        assert endpoint_labels(body) <= {"other"}, endpoint_labels(body)
        st_, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/endpoints/stats")
        assert st_ == 200 and {r["endpoint"] for r in v["endpoints"]} <= {"other"}, v
        promtool_check(body)
        if not SANITIZED:  # ASan's allocator keeps freed memory in quarantine
            assert peak - before < 20 * MB, (before, peak)
            assert after - before < 2 * MB, (before, peak, after)


def test_ids_reused_and_traces_keep_their_names():
    """With endpoints.max 20 full of aged-out names, new names get the freed ids; traces of
    requests to the old endpoints still show the old names, not the new owner of the id."""
    port, admin = free_port(), free_port()
    # The idle time leaves room for 60 requests under sanitizers (several seconds) before
    # the first names can age out and the gauge is read.
    cfg = config("endpoints: { max: 20, idle_timeout: 8s }\ntracing: { sample_rate: 1 }\n")
    with Stub() as st, gateway(port, admin, [st.addr()], config=cfg):
        old = random_paths(30, seed=4, prefix="/a/")
        assert gets(port, [p for p in old for _ in range(2)]) == [200] * 60
        assert endpoints_gauge(admin) == 20  # full: the other 10 count as "other"
        wait_until(lambda: endpoints_gauge(admin) == 0, timeout=40, what="aging")
        new = random_paths(20, seed=5, prefix="/b/")
        assert gets(port, [p for p in new for _ in range(2)]) == [200] * 40
        assert endpoints_gauge(admin) == 20  # the freed ids, reused
        wait_until(lambda: endpoint_labels(scrape(admin)) == set(new) | {"other"}, timeout=3,
                   what="only the new names in /metrics")
        st_, _, traces = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/traces"
                                   "?limit=1000")
        assert st_ == 200, traces
        seen = 0
        for t in traces:
            if t["path"].startswith("/a/") and t["endpoint"] != "other":
                assert t["endpoint"] == t["path"], t
                seen += 1
        assert seen >= 20, seen


def test_template_seen_twice_is_interned():
    """/api/items/1 then /api/items/2: the template /api/items/:id is an endpoint from the
    second request on; /api/orders/5, seen once, stays "other"."""
    port, admin = free_port(), free_port()
    with Stub() as st, gateway(port, admin, [st.addr()], config=config()):
        assert gets(port, ["/api/items/1", "/api/orders/5", "/api/items/2",
                           "/api/items/3"]) == [200] * 4
        time.sleep(AGG_WAIT)
        body = scrape(admin)
        assert endpoint_labels(body) == {"/api/items/:id", "other"}, endpoint_labels(body)
        assert value(body, "http_requests_total", endpoint="/api/items/:id") == 2
        assert value(body, "http_requests_total", endpoint="other") == 2
        assert value(body, "tailguard_endpoints") == 1


def test_routes_never_age():
    """A route's endpoint stays, with its counts, long after endpoints.idle_timeout; a path
    template requested at the same time is gone."""
    port, admin = free_port(), free_port()
    with Stub() as st:
        cfg = config(f"""endpoints: {{ idle_timeout: 2s }}
upstreams: [ {{ name: api, servers: ["{st.addr()}"] }} ]
routes: [ {{ name: things, path: "/api/things/:id" }} ]
""")
        with gateway(port, admin, [], config=cfg):
            assert gets(port, ["/api/things/1", "/t/x", "/t/x"]) == [200] * 3
            # the series show at the next tick and leave 2 s after
            wait_until(lambda: endpoint_labels(scrape(admin)) == {"things", "/t/x", "other"},
                       timeout=5, what="the series of both endpoints")
            wait_until(lambda: endpoints_gauge(admin) == 1, timeout=20, what="/t/x aging out")
            time.sleep(4)  # several more idle timeouts
            body = scrape(admin)
            assert endpoint_labels(body) == {"things", "other"}, endpoint_labels(body)
            assert value(body, "http_requests_total", endpoint="things", status="200") == 1
            assert value(body, "tailguard_endpoints") == 1
            st_, _, v = http_json("GET",
                                  f"http://{HOST}:{admin}/api/v1/monitoring/endpoints/stats")
            assert "things" in {r["endpoint"] for r in v["endpoints"]}, v


if __name__ == "__main__":
    run_tests()
