# SPDX-License-Identifier: MIT
"""GET /federate on the admin listener (docs/api.md, Federation): the newest sample of
each selected series with its own timestamp, in the text format Prometheus 2.42's
/federate writes (its answers to the same requests are quoted below); selections united
without repeats; a series whose newest sample is a staleness marker left out; bad
selectors and escapes refused with Prometheus's messages. A real Prometheus scraping it
is test_promql_diff.py.
"""
import re
import time
import urllib.parse

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"
SCRAPE_MS = 200

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} '
                  r'(\S+) (\d+)$')


def federate(admin, *selectors, raw_query=None):
    q = raw_query if raw_query is not None else urllib.parse.urlencode(
        [("match[]", s) for s in selectors])
    return http("GET", f"http://{HOST}:{admin}/federate?{q}", timeout=10)


def parse(body):
    """[(name, {labels}, value, ts)], checking the layout: one TYPE line per family,
    before its samples, families in name order."""
    out, typed, current = [], [], None
    for ln in body.decode().splitlines():
        if ln.startswith("# TYPE "):
            name, kind = ln[7:].split(" ")
            assert kind == "untyped", ln
            assert name not in typed, f"second TYPE line for {name}"
            typed.append(name)
            current = name
            continue
        m = LINE.match(ln)
        assert m, f"not a sample line: {ln!r}"
        assert m.group(1) == current, f"{ln!r} outside its family {current}"
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2)))
        out.append((m.group(1), labels, float(m.group(3)), int(m.group(4))))
    assert typed == sorted(typed), "families not sorted by name"
    return out


def gateway_with(demo):
    port, admin = free_port(), free_port()
    # The gateway's own job only: the host collector, on by default, would add its own.
    cfg = (f"tsdb: {{scrape_interval: {SCRAPE_MS}ms}}\n"
           "endpoints: {idle_timeout: 2s}\n"
           "collectors: {host: {enabled: false}}\n")
    return gateway(port, admin, [demo], config=cfg), port, admin


def test_federate():
    up_port = free_port()
    with demo_api(up_port, latency_scale=0):
        gw, port, admin = gateway_with(up_port)
        with gw:
            for _ in range(5):
                st, _, _ = http("GET", f"http://{HOST}:{port}/api/products")
                assert st == 200

            # up: one series, as stored, with the time of the scrape that wrote it.
            def up():
                st, h, body = federate(admin, "up")
                assert st == 200, (st, body)
                assert h["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
                return parse(body)
            rows = wait_until(up, timeout=scaled(10, 30), what="up federated")
            assert len(rows) == 1, rows
            name, labels, v, ts = rows[0]
            assert (name, labels, v) == ("up", {"instance": f"{HOST}:{admin}",
                                                "job": "tailguard"}, 1.0), rows
            now_ms = time.time() * 1000
            assert now_ms - 5000 < ts <= now_ms + 50, (ts, now_ms)
            # The next scrape's time: whole scrape intervals later (the store stamps the
            # tick a scrape was due, not the moment federation was asked).
            ts2 = wait_until(lambda: (lambda t: t if t > ts else None)(up()[0][3]),
                             timeout=scaled(5, 15), what="a later scrape")
            assert (ts2 - ts) % SCRAPE_MS == 0, (ts, ts2)

            # Five requests counted (the first under "other": a path template becomes an
            # endpoint at its second sighting), with the labels as stored.
            def counted():
                r = parse(federate(admin, "http_requests_total")[2])
                return r if sum(x[2] for x in r) == 5 else None
            rows = wait_until(counted, timeout=scaled(10, 30), what="5 requests federated")
            assert ("http_requests_total", {"endpoint": "/api/products",
                                            "instance": f"{HOST}:{admin}", "job": "tailguard",
                                            "method": "GET", "status": "200"}, 4.0) in \
                [r[:3] for r in rows], rows

            # Two selections overlap: every series once; names sorted, buckets as stored.
            st, _, body = federate(admin, "http_requests_total",
                                   '{job="tailguard",__name__=~"http_req.*"}', "up")
            assert st == 200
            rows = parse(body)
            keys = [(n, tuple(sorted(lb.items()))) for n, lb, _, _ in rows]
            assert len(keys) == len(set(keys)), "a series listed twice"
            names = {n for n, _, _, _ in rows}
            assert {"http_requests_total", "http_request_duration_seconds_bucket",
                    "http_request_duration_seconds_count", "up"} <= names, names
            assert all(lb["job"] == "tailguard" for _, lb, _, _ in rows)
            assert any(lb.get("le") == "+Inf" for n, lb, _, _ in rows
                       if n == "http_request_duration_seconds_bucket")
            # The parameter's name may be percent-encoded (Prometheus's scraper does it).
            st, _, body2 = federate(admin, raw_query="match%5B%5D=up")
            assert st == 200 and parse(body2)[0][0] == "up"

            # {job=~".*"} selects everything (a query would refuse it); {} nothing.
            st, _, body = federate(admin, '{job=~".*"}')
            assert st == 200 and len(parse(body)) > len(rows)
            st, _, body = federate(admin, "{}")
            assert (st, body) == (200, b"")
            # No match[]: empty, as Prometheus 2.42 answers.
            st, _, body = federate(admin, raw_query="")
            assert (st, body) == (200, b"")

            # Prometheus 2.42's answers, byte for byte.
            for sel, msg in [("up[5m]", '1:3: parse error: unexpected "["'),
                             ("rate(up[5m])", '1:5: parse error: unexpected "("'),
                             ("up{", "1:4: parse error: unexpected end of input inside braces"),
                             ("", "1:1: parse error: unexpected end of input")]:
                st, h, body = federate(admin, sel)
                assert (st, body) == (400, (msg + "\n").encode()), (sel, st, body)
                assert h["content-type"] == "text/plain; charset=utf-8"
            st, _, body = federate(admin, raw_query="match[]=%zz")
            assert (st, body) == (400, b'error parsing form values: invalid URL escape "%zz"\n')
            st, _, _ = http("POST", f"http://{HOST}:{admin}/federate?match[]=up", body=b"")
            assert st == 405

            # A templated endpoint that ages out: the store marks its series stale, and
            # federation leaves them out at once (no NaN line, no lingering value).
            for i in (1, 2, 3):
                assert http("GET", f"http://{HOST}:{port}/api/products/{i}")[0] == 200

            def orders(present):
                r = [x for x in parse(federate(admin, "http_requests_total")[2])
                     if x[1].get("endpoint") == "/api/products/:id"]
                return (r if r else None) if present else (r == [] or None)
            rows = wait_until(lambda: orders(True), timeout=scaled(10, 30),
                              what="the templated endpoint federated")
            assert rows[0][2] >= 2, rows
            wait_until(lambda: orders(False), timeout=scaled(20, 40),
                       what="the aged-out endpoint left out")


if __name__ == "__main__":
    run_tests()
