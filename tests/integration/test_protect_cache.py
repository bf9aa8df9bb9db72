# SPDX-License-Identifier: MIT
"""The response cache and fallback on real traffic. Against a small origin of this file
(it counts the requests that reach it and answers with the Cache-Control and Vary it is
asked for): fresh hits skip the upstream, TTL expiry, no-store and private respected,
Vary, HEAD from a GET's entry, purge (keys, prefix, pattern, and a write to the path)
and warm through the control API (audited), a response the client aborted is not
stored. Against demo-api with its fault injection: a hanging upstream with fallback on
is answered from the cache, stale and marked, within the deadline, and the hit rate is
in /metrics; with fallback off it is a 504 at the deadline; an open breaker with
fallback on answers from the cache too."""

import json
import socket
import socketserver
from http.server import BaseHTTPRequestHandler, HTTPServer
import threading
import time
import urllib.parse

from tgtest import *

J = {"Content-Type": "application/json"}


class Origin:
    """An origin on 127.0.0.1 that counts requests per path. Query parameters: `cc` (the
    Cache-Control to send), `vary`, `etag`, `lm` (Last-Modified), `size` (body bytes, default a short text), `slow`
    (seconds to wait between 4 KiB pieces of the body), `chunked` (send the body chunked,
    so only its last chunk says it is complete)."""

    def __init__(self):
        self.count = {}
        self.lock = threading.Lock()
        origin = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                self.answer(True)

            def do_HEAD(self):
                self.answer(False)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(n)
                self.answer(True)

            def answer(self, with_body):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                with origin.lock:
                    n = origin.count.get(u.path, 0) + 1
                    origin.count[u.path] = n
                size = int(q.get("size", "0"))
                body = (f"{u.path} #{n} accept={self.headers.get('Accept', '')}".encode()
                        if not size else b"x" * size)
                chunked = "chunked" in q
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(body)))
                if "cc" in q:
                    self.send_header("Cache-Control", q["cc"])
                if "vary" in q:
                    self.send_header("Vary", q["vary"])
                if "etag" in q:
                    self.send_header("ETag", q["etag"])
                if "lm" in q:
                    self.send_header("Last-Modified", q["lm"])
                self.end_headers()
                if not with_body:
                    return
                slow = float(q.get("slow", "0"))
                try:
                    for i in range(0, len(body), 4096):
                        piece = body[i:i + 4096]
                        if chunked:
                            piece = b"%x\r\n%s\r\n" % (len(piece), piece)
                        self.wfile.write(piece)
                        self.wfile.flush()
                        if slow:
                            time.sleep(slow)
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass

        class S(socketserver.ThreadingMixIn, HTTPServer):
            daemon_threads = True

        self.srv = S(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def hits(self, path):
        with self.lock:
            return self.count.get(path, 0)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.srv.shutdown()
        self.srv.server_close()


def gateway_for(upstream, extra=""):
    port, admin = free_port(), free_port()
    cfg = (f'listen: "127.0.0.1:{port}"\n'
           f'admin: {{ listen: "127.0.0.1:{admin}", mount_on_proxy: true }}\n'
           f'upstreams: [{{name: api, servers: ["127.0.0.1:{upstream}"], '
           f'passive: {{failures: 0}}}}]\n' + extra)
    g = gateway(port, admin, [], config=cfg)
    g.port, g.admin = port, admin
    return g


def get(g, path, headers=None, method="GET"):
    t0 = time.monotonic()
    st, h, b = http(method, f"http://127.0.0.1:{g.port}{path}", headers=headers, timeout=10)
    return st, h, b, time.monotonic() - t0


def metrics(g):
    _, _, body = http("GET", f"http://127.0.0.1:{g.admin}/metrics")
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, v = line.rsplit(" ", 1)
            out[name] = float(v)
    return out


def cause_count(g, cause, want):
    """Waits for the per-cause count (merged from the workers once a second) to reach
    `want`, and returns it."""
    def n():
        return sum(v for k, v in metrics(g).items()
                   if k.startswith("tailguard_request_causes_total") and f'cause="{cause}"' in k)
    wait_until(lambda: n() >= want, timeout=3, what=f"{want} requests of cause {cause}")
    return n()


def stored(g, n):
    """Waits until `n` responses were stored in all. A response is committed just after
    its last byte is written, so a client's next request, on another worker, can come
    first: the tests wait for the commit where they count on it."""
    wait_until(lambda: metrics(g)["tailguard_cache_stores_total"] >= n, timeout=3,
               what=f"{n} responses stored")


def control(g, call, body):
    st, _, v = http_json("POST", f"http://127.0.0.1:{g.admin}/api/v1/system/{call}", body)
    return st, v


def audit_actions(g):
    _, _, a = http_json("GET", f"http://127.0.0.1:{g.admin}/api/v1/system/audit")
    return [r["action"] for r in a["entries"]]


RULES = 'cache: { rules: [{ path_glob: "/c/*", ttl_seconds: 1 }] }\n'


def test_fresh_hits_ttl_and_cache_control():
    with Origin() as o, gateway_for(o.port, RULES) as g:
        st, h, b1, _ = get(g, "/c/a")
        assert st == 200 and h.get("Age") is None, (st, dict(h))
        stored(g, 1)
        for _ in range(4):
            st, h, b, _ = get(g, "/c/a")
            assert st == 200 and b == b1 and h.get("Age") == "0", (st, dict(h), b)
            assert h.get("Warning") is None and "tailguard" in h.get("Via"), dict(h)
        assert o.hits("/c/a") == 1
        # HEAD is answered from the GET's entry: its length, no body.
        st, h, b, _ = get(g, "/c/a", method="HEAD")
        assert st == 200 and b == b"" and h.get("Content-Length") == str(len(b1)), dict(h)
        assert o.hits("/c/a") == 1
        m = metrics(g)
        assert m["cache_hits_total"] == 5 and m["cache_misses_total"] == 1, m
        assert abs(m["cache_hit_rate"] - 5 / 6) < 1e-9, m["cache_hit_rate"]
        assert cause_count(g, "cache_hit", 5) == 5
        # The rule's TTL runs out: the next request goes to the origin again.
        time.sleep(1.2)
        st, _, b, _ = get(g, "/c/a")
        assert st == 200 and b"#2" in b and o.hits("/c/a") == 2, b
        # The response's own Cache-Control decides over the rule.
        for cc, path in (("no-store", "/c/ns"), ("private", "/c/pv"), ("no-cache", "/c/nc")):
            for _ in range(3):
                assert get(g, f"{path}?cc={cc}")[0] == 200
            assert o.hits(path) == 3, (cc, o.hits(path))
        st, h, _, _ = get(g, "/c/long?cc=max-age%3D60")
        stored(g, 3)
        time.sleep(1.2)  # past the rule's TTL, inside max-age
        st, h, b, _ = get(g, "/c/long?cc=max-age%3D60")
        assert o.hits("/c/long") == 1 and int(h.get("Age")) >= 1, dict(h)
        # A request's no-store is answered from the cache but not stored; a path no rule
        # matches is not cached at all.
        for _ in range(3):
            assert get(g, "/other")[0] == 200
        assert o.hits("/other") == 3
        m = metrics(g)
        assert m['tailguard_cache_declined_total{reason="no_store"}'] == 3, m
        assert m['tailguard_cache_declined_total{reason="private"}'] == 3, m
        assert m["tailguard_cache_entries"] >= 2 and m["tailguard_cache_bytes"] > 0, m


def test_conditional_get_from_the_cache():
    # A client that holds the representation gets 304 from the cache: If-None-Match with
    # the weak comparison and "*", else If-Modified-Since against Last-Modified.
    cc = "&cc=max-age%3D60"
    lm = "Mon, 30 Nov 2026 08:00:00 GMT"
    with Origin() as o, gateway_for(o.port, RULES) as g:
        p = "/c/e?etag=%22v1%22" + cc
        st, h, body, _ = get(g, p)
        assert st == 200 and h.get("ETag") == '"v1"', dict(h)
        stored(g, 1)
        for inm in ('"v1"', 'W/"v1"', '"v0", "v1"', "*"):
            st, h, b, _ = get(g, p, {"If-None-Match": inm})
            assert st == 304 and b == b"", (inm, st, b)
            assert h.get("ETag") == '"v1"' and h.get("Age") is not None, dict(h)
            assert h.get("Content-Length") is None and h.get("Content-Type") is None, dict(h)
        for inm in ('"v2"', 'v1', '"v1'):  # another tag, and malformed ones: the full answer
            st, _, b, _ = get(g, p, {"If-None-Match": inm})
            assert st == 200 and b == body, (inm, st)
        # If-None-Match decides alone when present, even with a matching date.
        st, _, _, _ = get(g, p, {"If-None-Match": '"v2"', "If-Modified-Since": lm})
        assert st == 200
        st, _, b, _ = get(g, p, {"If-None-Match": '"v1"'}, method="HEAD")
        assert st == 304 and b == b""
        assert o.hits("/c/e") == 1
        q = "/c/m?lm=" + urllib.parse.quote(lm) + cc
        assert get(g, q)[0] == 200
        stored(g, 2)
        for ims, want in ((lm, 304), ("Mon, 30 Nov 2026 09:00:00 GMT", 304),
                          ("Mon, 30 Nov 2026 07:59:59 GMT", 200), ("yesterday", 200)):
            st, h, b, _ = get(g, q, {"If-Modified-Since": ims})
            assert st == want, (ims, st)
            assert (b == b"") == (want == 304), (ims, b)
        assert o.hits("/c/m") == 1
        # Counted as what the client got (merged from the workers once a second).
        wait_until(lambda: sum(v for k, v in metrics(g).items()
                               if k.startswith("http_requests_total") and 'status="304"' in k)
                   >= 7, timeout=3, what="the 304s in /metrics")


def test_vary():
    with Origin() as o, gateway_for(o.port, RULES) as g:
        p = "/c/v?vary=Accept"
        _, _, a1, _ = get(g, p, {"Accept": "text/a"})
        stored(g, 1)
        _, _, b1, _ = get(g, p, {"Accept": "text/b"})
        stored(g, 2)
        _, _, a2, _ = get(g, p, {"Accept": "text/a"})
        _, _, b2, _ = get(g, p, {"Accept": "text/b"})
        assert o.hits("/c/v") == 2, o.hits("/c/v")
        assert a1 == a2 and b1 == b2 and b"accept=text/a" in a1 and b"accept=text/b" in b1


def test_purge_and_warm_through_the_api():
    with Origin() as o, gateway_for(o.port, 'cache: { rules: [{ path_glob: "/c/*", '
                                    'ttl_seconds: 300 }] }\n') as g:
        for i, p in enumerate(("/c/k", "/c/p/1", "/c/p/2", "/c/products/category/shoes",
                               "/c/w")):
            get(g, p)
            stored(g, i + 1)
            get(g, p)
            assert o.hits(p) == 1, p
        # By key, by prefix, by key-store pattern.
        assert control(g, "cache/purge", {"keys": ["/c/k"]}) == (200, {"status": "ok",
                                                                        "purged": 1})
        assert control(g, "cache/purge", {"prefix": "/c/p/"})[1]["purged"] == 2
        assert control(g, "cache/purge", {"pattern": "products:category:*"})[1]["purged"] == 1
        for p in ("/c/k", "/c/p/1", "/c/p/2", "/c/products/category/shoes"):
            get(g, p)
            assert o.hits(p) == 2, p
        assert get(g, "/c/w")[0] == 200 and o.hits("/c/w") == 1
        # A write answered below 400 purges its path (RFC 9111 §4.4).
        assert get(g, "/c/w", method="POST")[0] == 200
        get(g, "/c/w")
        assert o.hits("/c/w") == 3, o.hits("/c/w")
        # Warming fetches through the gateway, and the entries then answer.
        st, v = control(g, "cache/warm", {"paths": ["/c/warm1", "/c/warm2?x=1", "/nope"]})
        assert st == 202 and v["warming"] == ["/c/warm1", "/c/warm2?x=1"], v
        assert v["not_cached"] == ["/nope"], v
        wait_until(lambda: o.hits("/c/warm1") == 1 and o.hits("/c/warm2") == 1, timeout=5)
        wait_until(lambda: metrics(g)["tailguard_cache_entries"] >= 7, timeout=5,
                   what="warmed entries stored")
        get(g, "/c/warm1")
        get(g, "/c/warm2?x=1")
        assert o.hits("/c/warm1") == 1 and o.hits("/c/warm2") == 1
        st, v = control(g, "cache/warm", {"paths": ["/c/warm1"]})
        assert st == 202 and v["fresh"] == ["/c/warm1"], v
        # Bad bodies change nothing and leave no audit row.
        before = audit_actions(g)
        for bad in ({"keys": ["/c/w"], "prefix": "/c"}, {"keys": "/c/w"}, {"prefix": ""},
                    {"nope": 1}, {"keys": ["no-slash"]}):
            st, v = control(g, "cache/purge", bad)
            assert st == 400, (bad, st, v)
        for bad in ({"paths": []}, {"paths": ["/a b"]}, {"path": ["/a"]}):
            assert control(g, "cache/warm", bad)[0] == 400, bad
        after = audit_actions(g)
        assert before == after
        assert after.count("POST /api/v1/system/cache/purge") == 3, after
        assert after.count("POST /api/v1/system/cache/warm") == 2, after
        # GC trims what is past its retention and says so.
        st, v = control(g, "gc", {})
        assert st == 200 and v["cache"]["bytes_before"] > 0, v


def test_client_abort_stores_nothing():
    with Origin() as o, gateway_for(o.port, RULES) as g:
        # Chunked: only the last chunk tells a complete body from a cut one.
        path = "/c/big?size=200000&slow=0.05&chunked=1"
        s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 200")
        s.close()
        time.sleep(0.5)
        m = metrics(g)
        assert m["tailguard_cache_stores_total"] == 0 and m["tailguard_cache_entries"] == 0, m
        # The whole response, read to its end, is stored.
        st, _, b, _ = get(g, "/c/big?size=200000&chunked=1")
        assert st == 200 and len(b) == 200000
        stored(g, 1)
        st, h, b, _ = get(g, "/c/big?size=200000&chunked=1")
        assert len(b) == 200000 and h.get("Age") is not None and o.hits("/c/big") == 2


def fault(api, body):
    st, _, v = http_json("POST", f"http://127.0.0.1:{api}/_faults", body)
    assert st == 200, (st, v)


FALLBACK = ("fallback: { enabled: true, cache_ttl: 60 }\n"
            "timeouts: { default_ms: 600 }\n")


def test_fallback_on_hanging_upstream_then_off():
    api = free_port()
    with demo_api(api, latency_scale=0), gateway_for(api, FALLBACK) as g:
        # No cache rule: the answers are kept for fallback only, never served fresh.
        st, _, good, _ = get(g, "/api/products/1")
        assert st == 200
        stored(g, 1)
        assert get(g, "/api/products/1")[1].get("Age") is None
        assert metrics(g)["cache_hits_total"] == 0
        fault(api, {"endpoint": "/api/products", "hang": True})
        st, h, b, dt = get(g, "/api/products/1")
        assert st == 200 and b == good, (st, b)
        assert 0.5 <= dt < 2.0, dt
        warnings = h.get_all("Warning")
        assert '110 - "Response is Stale"' in warnings, warnings
        assert '111 - "Revalidation Failed"' in warnings, warnings
        assert h.get("Age") is not None, dict(h)
        # Nothing stored for this one: the deadline's 504.
        st, _, _, dt = get(g, "/api/products/2")
        assert st == 504 and 0.5 <= dt < 2.0, (st, dt)
        assert cause_count(g, "cache_fallback", 1) == 1
        m = metrics(g)
        assert m["tailguard_cache_fallback_served_total"] == 1, m
        assert "cache_hit_rate" in m
        # Fallback off at run time: the deadline's 504 again.
        st, _, v = http_json("PUT", f"http://127.0.0.1:{g.admin}/api/v1/system/fallback",
                             {"enabled": False})
        assert st == 200, v
        st, _, _, dt = get(g, "/api/products/1")
        assert st == 504 and 0.5 <= dt < 2.0, (st, dt)


def test_breaker_open_with_fallback():
    api = free_port()
    extra = (FALLBACK +
             "circuit_breaker: { enabled: true, timeout_ms: 5000, failure_threshold: 0.5,\n"
             "                   recovery_time: 30, min_requests: 5, window_seconds: 10 }\n")
    with demo_api(api, latency_scale=0), gateway_for(api, extra) as g:
        st, _, good, _ = get(g, "/api/products/3")
        assert st == 200
        stored(g, 1)
        fault(api, {"endpoint": "/api/products", "error_rate": 1.0})
        # 5xx answers are replaced by the stored one while the breaker counts them.
        seen = [get(g, "/api/products/3") for _ in range(8)]
        assert all(s[0] == 200 and s[2] == good for s in seen), [s[0] for s in seen]
        wait_until(lambda: metrics(g).get(
            'circuit_breaker_state{upstream="api",route=""}') == 1, timeout=3)
        # Open: answered from the cache without the upstream (no 111: nothing was tried).
        st, h, b, dt = get(g, "/api/products/3")
        assert st == 200 and b == good and dt < 0.1, (st, dt)
        assert h.get_all("Warning") == ['110 - "Response is Stale"'], h.get_all("Warning")
        # Without a stored answer, the breaker's 503.
        st, h, _, _ = get(g, "/api/products/4")
        assert st == 503 and h.get("Retry-After"), st
        assert cause_count(g, "cache_fallback", 9) >= 9


if __name__ == "__main__":
    run_tests()
