# SPDX-License-Identifier: MIT
"""The admin listener's GET /metrics against the real Prometheus tools (Debian's
prometheus 2.42 package: /usr/bin/promtool and /usr/bin/prometheus; scripts/install-deps.sh
installs it in the test group).

- After mixed traffic (routes and auto-templated paths, 2xx/4xx/5xx answers, refused
  connects to a dead upstream, 504s from a hanging one), `promtool check metrics` is clean
  (exit 0, no output), and the checks promtool does not make hold too (prometheus-compat.md
  §a.4): HELP and TYPE for every family before its samples, contiguous families, unique
  series, only the escapes \\\\, \\" and \\n in label values (a path with `"`, `\\`, `{`, `%22`
  round-trips), histograms with increasing `le`, cumulative counts and `+Inf` == `_count`,
  and no counter going down between two scrapes.
- A real Prometheus scrapes the gateway every second during a steady load with a known
  latency mix; its histogram_quantile over the exposed buckets must land in the `le`
  bucket holding tailguard's own p95/p99 (or the one next to it), and the scrape must be
  free of errors, duplicate or out-of-order samples and counter resets.
"""
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

import http.client as httpclient

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

HOST = "127.0.0.1"
AGG_WAIT = 1.3  # metrics are aggregated from the worker shards once per second

# The gateway's http_request_duration_seconds buckets (src/admin/prom.c).
LE_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1,
             1.5, 2, 2.5, 5, 7.5, 10, 30, 60, 120]

# A templated path with every character that is special somewhere in the exposition
# format (`"` and `\` must be escaped, `{`, `}`, `=`, `,` and `%22` must be left alone).
# The HTTP parser accepts all of them in a request-target. The last segment is numeric,
# so it becomes ":id".
ODD_PATH = '/odd"q\\b{x}=y,z/%22%5C/123'
ODD_TEMPLATE = '/odd"q\\b{x}=y,z/%22%5C/:id'


# -- helpers --------------------------------------------------------------------------

def need(tool):
    path = shutil.which(tool)
    assert path, f"{tool} not installed (scripts/install-deps.sh installs the prometheus package)"
    return path


def get(port, path, timeout=10):
    """One request with a raw target (no client-side quoting); returns the status."""
    out = raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(
        "latin-1"), timeout=timeout)
    assert out.startswith(b"HTTP/1.1 "), (path, out[:200])
    return int(out.split(b" ", 2)[1])


def scrape(admin):
    st, h, body = http("GET", f"http://{HOST}:{admin}/metrics", timeout=10)
    assert st == 200, (st, body[:300])
    assert h.get("content-type") == "text/plain; version=0.0.4; charset=utf-8", h.get(
        "content-type")
    return body


def promtool_check(body):
    """`promtool check metrics` on `body`: must exit 0 and print nothing."""
    p = subprocess.run([need("promtool"), "check", "metrics"], input=body,
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and not p.stdout and not p.stderr, (
        f"promtool check metrics: exit {p.returncode}\nstdout: {p.stdout.decode()}\n"
        f"stderr: {p.stderr.decode()}")


_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LNAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _parse_labels(s, i, lineno):
    """Parses `{...}` starting at s[i] == '{'. Returns (tuple of (name, value)), index
    after '}'). Label values must use only the escapes \\\\, \\" and \\n."""
    assert s[i] == "{"
    i += 1
    labels = []
    while True:
        if s[i] == "}":
            return tuple(labels), i + 1
        m = _LNAME.match(s, i)
        assert m, f"line {lineno}: bad label name at {s[i:i + 20]!r}"
        name = m.group(0)
        assert not name.startswith("__"), f"line {lineno}: reserved label name {name}"
        i = m.end()
        assert s[i:i + 2] == '="', f"line {lineno}: expected =\" after {name}"
        i += 2
        val = []
        while s[i] != '"':
            if s[i] == "\\":
                esc = s[i + 1]
                assert esc in '\\"n', f"line {lineno}: invalid escape \\{esc}"
                val.append({"\\": "\\", '"': '"', "n": "\n"}[esc])
                i += 2
            else:
                assert s[i] != "\n"
                val.append(s[i])
                i += 1
        i += 1
        labels.append((name, "".join(val)))
        if s[i] == ",":
            i += 1
        else:
            assert s[i] == "}", f"line {lineno}: expected , or }} at {s[i:i + 20]!r}"
    # not reached


def parse_exposition(body):
    """Parses text format 0.0.4 strictly and checks what promtool does not (§a.4).
    Returns {"types": {family: type}, "samples": {(name, labels): value},
    "family_of": {sample name: family}}."""
    text = body.decode("utf-8")  # must be valid UTF-8
    assert text.endswith("\n"), "the last line must end in a newline"
    helps, types, family_of, samples = {}, {}, {}, {}
    order = []  # families in order of appearance (contiguity)
    seen_samples = set()  # families that already have samples

    def family_for(name):
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                return name[:-len(suffix)]
        return name

    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                fam = parts[2]
                assert _NAME.fullmatch(fam), f"line {lineno}: bad name {fam!r}"
                if parts[1] == "HELP":
                    assert fam not in helps, f"line {lineno}: second HELP for {fam}"
                    doc = parts[3] if len(parts) > 3 else ""
                    assert doc.strip(), f"line {lineno}: empty HELP for {fam}"
                    assert not re.search(r"\\[^\\n]", doc), f"line {lineno}: bad escape in HELP"
                    helps[fam] = doc
                else:
                    assert fam not in types, f"line {lineno}: second TYPE for {fam}"
                    assert fam not in seen_samples, f"line {lineno}: TYPE after samples of {fam}"
                    assert parts[3] in ("counter", "gauge", "histogram", "summary",
                                        "untyped"), f"line {lineno}: type {parts[3]!r}"
                    types[fam] = parts[3]
                if not order or order[-1] != fam:
                    assert fam not in order, f"line {lineno}: family {fam} is not contiguous"
                    order.append(fam)
            continue
        m = _NAME.match(line)
        assert m, f"line {lineno}: bad sample line {line!r}"
        name = m.group(0)
        i = m.end()
        labels = ()
        if i < len(line) and line[i] == "{":
            labels, i = _parse_labels(line, i, lineno)
        rest = line[i:].split()
        assert len(rest) == 1, f"line {lineno}: expected one value and no timestamp: {line!r}"
        value = float(rest[0])
        fam = family_for(name)
        assert fam in types, f"line {lineno}: sample {name} before (or without) its TYPE"
        assert fam in helps, f"line {lineno}: family {fam} has no HELP"
        assert order and order[-1] == fam, f"line {lineno}: family {fam} is not contiguous"
        seen_samples.add(fam)
        names = [n for n, _ in labels]
        assert len(set(names)) == len(names), f"line {lineno}: duplicate label names"
        assert "job" not in names and "instance" not in names, f"line {lineno}: {names}"
        key = (name, labels)
        assert key not in samples, f"line {lineno}: duplicate series {name}{dict(labels)}"
        samples[key] = value
        family_of[name] = fam
    for fam, typ in types.items():
        assert fam in helps, f"family {fam} has TYPE but no HELP"
        if typ == "counter":
            assert fam.endswith("_total"), fam
    for fam in helps:
        assert fam in types, f"family {fam} has HELP but no TYPE"
    check_histograms(types, samples)
    return {"types": types, "samples": samples, "family_of": family_of}


def check_histograms(types, samples):
    """Every histogram series: `le` formatted like Go's shortest 'g', strictly increasing,
    counts cumulative, a +Inf bucket equal to _count, and a _sum."""
    by_labels = {(name, frozenset(labels)): v for (name, labels), v in samples.items()}
    groups = {}
    for (name, labels), v in samples.items():
        fam = name[:-len("_bucket")]
        if name.endswith("_bucket") and types.get(fam) == "histogram":
            d = dict(labels)
            le = d.pop("le")
            groups.setdefault((fam, frozenset(d.items())), []).append((le, v))
    for (fam, labels), buckets in groups.items():
        what = f"{fam}{dict(labels)}"
        les = [le for le, _ in buckets]
        assert les[-1] == "+Inf", (what, les)
        for le in les[:-1]:
            assert le == format_le(float(le)), f"{what}: le={le!r} is not in shortest form"
        bounds = [float(le) for le in les]
        assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), (what, les)
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), f"{what}: not cumulative: {counts}"
        count = by_labels.get((fam + "_count", labels))
        assert count is not None, f"{what}: no _count"
        assert counts[-1] == count, f"{what}: +Inf bucket {counts[-1]} != _count {count}"
        assert (fam + "_sum", labels) in by_labels, f"{what}: no _sum"
    for (name, labels) in by_labels:
        for suffix in ("_count", "_sum"):
            fam = name[:-len(suffix)]
            if name.endswith(suffix) and types.get(fam) == "histogram":
                assert (fam, labels) in groups, f"{name}{dict(labels)} without buckets"


def format_le(x):
    """Go's strconv.FormatFloat(x, 'g', -1, 64), as client_golang prints `le`."""
    r = repr(x)  # Python's repr is the shortest round-tripping form too
    if "e" in r or "E" in r:
        mant, exp = r.split("e")
        mant = mant[:-2] if mant.endswith(".0") else mant
        e = int(exp)
        return f"{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"
    if r.endswith(".0"):
        r = r[:-2]
    if "." not in r and len(r) > 21:
        return format_le(float(f"{x:e}"))
    return r


def series(parsed, name, **want):
    """Samples of `name` whose labels include `want`: {labels dict as tuple: value}."""
    out = {}
    for (n, labels), v in parsed["samples"].items():
        d = dict(labels)
        if n == name and all(d.get(k) == v2 for k, v2 in want.items()):
            out[labels] = v
    return out


def total(parsed, name, **want):
    return sum(series(parsed, name, **want).values())


def mixed_traffic(port, rounds):
    """Drives every outcome the gateway records: routed and templated 2xx, 4xx and 5xx
    from the upstream, refused connects (502) and upstream timeouts (504)."""
    for i in range(rounds):
        assert get(port, f"/api/products/{i + 1}") == 200
        assert get(port, "/api/products") == 200
        assert get(port, "/api/v1/agents") == 200
        assert get(port, "/status/503") == 503
        assert get(port, "/status/429") == 429
        assert get(port, f"/nothing/here/{random.randrange(1 << 30)}") == 404
        assert get(port, "/sleep/7") == 200
        assert get(port, f"/dead/{i}") == 502
    assert get(port, "/hang") == 504


# -- tests ----------------------------------------------------------------------------

def test_promtool_clean_after_mixed_traffic():
    need("promtool")
    demo, port, admin = free_port(), free_port(), free_port()
    dead = free_port()  # nothing listens there: connects are refused
    with demo_api(demo, latency_scale=0), Stub("hang") as hang, Stub("odd") as odd:
        cfg = f"""
upstreams:
  - {{ name: api, servers: ["{HOST}:{demo}"] }}
  - {{ name: dead, servers: ["{HOST}:{dead}"], passive: {{ failures: 0 }} }}
  - {{ name: hang, servers: ["{hang.addr()}"] }}
  - {{ name: odd, servers: ["{odd.addr()}"] }}
default_upstream: api
routes:
  - {{ name: product, methods: [GET], path: "/api/products/:id" }}
  - {{ name: dead, prefix: "/dead/", upstream: dead }}
  - {{ name: slow, path: "/hang", upstream: hang, timeout: 300ms }}
  - {{ name: odd_route, prefix: "/odd-route/", upstream: odd }}
"""
        with gateway(port, admin, [], config=cfg):
            # before any traffic the exposition is already valid
            promtool_check(scrape(admin))
            parse_exposition(scrape(admin))

            # the first sighting of the /status/:id template (counted as "other"), so every
            # round below counts under it
            assert get(port, "/status/200") == 200
            mixed_traffic(port, scaled(6, 2))
            # a path full of characters that are special in the format, answered 404 by
            # demo-api: no endpoint is made, it counts as "other" (a 200 for such a path
            # is test_odd_characters_in_templated_path_stay_valid)
            assert get(port, ODD_PATH) == 404
            # a prefix route counts under the route's name, not the path
            assert get(port, "/odd-route/x") == 200
            time.sleep(AGG_WAIT)
            body1 = scrape(admin)
            promtool_check(body1)
            m1 = parse_exposition(body1)

            # what the traffic must have produced
            assert total(m1, "http_requests_total", endpoint="product", status="200") >= 2
            assert total(m1, "http_requests_total", endpoint="/status/:id", status="503") >= 2
            assert total(m1, "http_requests_total", endpoint="/status/:id", status="429") >= 2
            assert total(m1, "http_requests_total", endpoint="other", status="404") >= 2
            assert total(m1, "http_requests_total", endpoint="dead", status="502") >= 2
            assert total(m1, "http_requests_total", endpoint="slow", status="504") == 1
            # (the cause is checked by test_refused_connect_counts_as_connect_failure)
            assert total(m1, "http_request_errors_total", endpoint="dead") >= 2, series(
                m1, "http_request_errors_total")
            assert total(m1, "http_request_errors_total", endpoint="slow",
                         cause="upstream_timeout") == 1, series(m1, "http_request_errors_total")
            assert total(m1, "upstream_server_up", upstream="api") == 1
            assert series(m1, "upstream_request_errors_total", upstream="dead")
            for fam in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                        "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                        "process_start_time_seconds", "tailguard_endpoints",
                        "tailguard_metrics_dropped_total", "http_requests_active",
                        "tailguard_build_info"):
                assert series(m1, fam), f"{fam} missing"
            start = total(m1, "process_start_time_seconds")
            assert abs(start - time.time()) < 120, start
            assert total(m1, "process_resident_memory_bytes") > 1 << 20
            assert 0 < total(m1, "process_open_fds") <= total(m1, "process_max_fds")
            # no endpoint label is made from a 404 (random paths above)
            eps = {dict(lb)["endpoint"] for (n, lb) in m1["samples"] if n == "http_requests_total"}
            assert not any(e.startswith("/nothing") for e in eps), eps
            assert "/odd-route/x" not in eps and "odd_route" in eps, eps

            # counters never go down between two scrapes (and no series disappears)
            mixed_traffic(port, scaled(3, 1))
            time.sleep(AGG_WAIT)
            body2 = scrape(admin)
            promtool_check(body2)
            m2 = parse_exposition(body2)
            assert_counters_monotonic(m1, m2)
            assert total(m2, "http_requests_total") > total(m1, "http_requests_total")


def assert_counters_monotonic(m1, m2):
    for (name, labels), v1 in m1["samples"].items():
        fam = m1["family_of"][name]
        typ = m1["types"][fam]
        if typ in ("counter", "histogram"):  # buckets, _count and _sum only grow
            v2 = m2["samples"].get((name, labels))
            assert v2 is not None, f"series {name}{dict(labels)} disappeared"
            assert v2 >= v1, f"{name}{dict(labels)} went down: {v1} -> {v2}"


def test_odd_characters_in_templated_path_stay_valid():
    """A path with `"`, `\\`, `{`, `}`, `=`, `,` and %-escapes that reaches an upstream
    answering 200 becomes an endpoint label; it must be escaped so that promtool and a
    strict parser read back exactly the template."""
    need("promtool")
    port, admin = free_port(), free_port()
    with Stub("odd") as s:
        with gateway(port, admin, [s.addr()]):
            # twice each: a path template becomes an endpoint at its second sighting (the
            # first counts as "other")
            for _ in range(2):
                assert get(port, ODD_PATH) == 200
                assert get(port, "/a%22b/c%5Cd/%7B%7D") == 200
            time.sleep(AGG_WAIT)
            body = scrape(admin)
            promtool_check(body)
            m = parse_exposition(body)
            eps = {dict(lb)["endpoint"] for (n, lb) in m["samples"] if n == "http_requests_total"}
            assert eps == {ODD_TEMPLATE, "/a%22b/c%5Cd/%7B%7D", "other"}, eps
            # the escaped form on the wire
            assert b'endpoint="/odd\\"q\\\\b{x}=y,z/%22%5C/:id"' in body
            # and the JSON API names it the same way
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/endpoints/stats")
            assert st == 200 and {r["endpoint"] for r in v["endpoints"]} == eps, v


def test_metrics_other_methods_405():
    """/metrics is read-only: other methods get 405 with a JSON error (API.md
    conventions), like the health and monitoring paths, not 404."""
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        st, h, _ = http("HEAD", f"http://{HOST}:{admin}/metrics")
        assert st == 200, st
        for method in ("POST", "PUT", "DELETE"):
            st, h, v = http_json(method, f"http://{HOST}:{admin}/metrics", obj={})
            assert st == 405 and v and v.get("error"), (method, st, v)


def test_refused_connect_counts_as_connect_failure():
    """An upstream whose only server refuses connections: the 502 is a connect failure
    (cause upstream_connect_failure, Envoy's UF), not "no upstream server" (UH), which
    means every server was down or ejected before the request was tried. The retry that
    finds no second server must keep the cause of the failure it retried."""
    port, admin, dead = free_port(), free_port(), free_port()
    cfg = f"""
upstreams: [ {{ name: dead, servers: ["{HOST}:{dead}"], passive: {{ failures: 0 }} }} ]
"""
    with gateway(port, admin, [], config=cfg):
        assert get(port, "/x") == 502
        time.sleep(AGG_WAIT)
        m = parse_exposition(scrape(admin))
        causes = {dict(lb)["cause"]: v for lb, v in series(m, "tailguard_request_causes_total").items()}
        assert causes == {"upstream_connect_failure": 1}, causes


def test_route_named_other_does_not_duplicate_series():
    """"other" is the overflow endpoint (unmatched 404s, endpoints over endpoints.max).
    A route may not take that name, or /metrics exposes two series with the same labels
    (Prometheus then drops samples as duplicates) and endpoints/stats shows two rows
    named "other". Either the config refuses the name or the series stay distinct."""
    demo, port, admin = free_port(), free_port(), free_port()
    with demo_api(demo, latency_scale=0):
        cfg = f"""
upstreams: [ {{ name: api, servers: ["{HOST}:{demo}"] }} ]
routes: [ {{ name: other, path: "/api/products/:id" }} ]
"""
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(cfg)
            f.flush()
            p = subprocess.run([BIN, "check-config", f.name], capture_output=True, timeout=10)
        if p.returncode != 0:
            assert b"other" in p.stdout + p.stderr, (p.stdout, p.stderr)
            return  # refused, naming the problem: fine
        with gateway(port, admin, [], config=cfg):
            assert get(port, "/api/products/1") == 200  # the route named "other"
            assert get(port, "/no/such/thing") == 404  # the overflow endpoint "other"
            time.sleep(AGG_WAIT)
            parse_exposition(scrape(admin))  # asserts unique (name, labels)
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/endpoints/stats")
            names = [(r["endpoint"], r["method"]) for r in v["endpoints"]]
            assert len(names) == len(set(names)), names


# -- real Prometheus --------------------------------------------------------------------

def prom_query(prom, expr, at=None):
    q = {"query": expr}
    if at is not None:
        q["time"] = f"{at:.3f}"
    st, _, v = http_json("GET", f"http://{HOST}:{prom}/api/v1/query?"
                         + urllib.parse.urlencode(q), timeout=10)
    assert st == 200 and v["status"] == "success", (expr, st, v)
    return v["data"]["result"]


def prom_scalar(prom, expr, at=None):
    res = prom_query(prom, expr, at)
    assert len(res) == 1, (expr, res)
    return float(res[0]["value"][1])


def bucket_index(v):
    """Index i of the `le` bucket (LE_BOUNDS[i-1], LE_BOUNDS[i]] holding v seconds."""
    for i, b in enumerate(LE_BOUNDS):
        if v <= b:
            return i
    return len(LE_BOUNDS)


def assert_same_bucket(what, tg_s, prom_s):
    """Prometheus' interpolated quantile must lie in the bucket that holds tailguard's
    value, or in the bucket just below or above it."""
    i = bucket_index(tg_s)
    lo = LE_BOUNDS[i - 2] if i >= 2 else 0.0
    hi = LE_BOUNDS[i + 1] if i + 1 < len(LE_BOUNDS) else float("inf")
    assert lo <= prom_s <= hi, (f"{what}: Prometheus {prom_s:.4f}s is not within one bucket "
                                f"of tailguard's {tg_s:.4f}s (allowed [{lo}, {hi}])")


class Load:
    """Closed-loop clients on keep-alive connections, each cycling through a shuffled
    list of paths, until stop()."""

    def __init__(self, port, paths, clients):
        self.port, self.paths = port, paths
        self.stopping = threading.Event()
        self.errors = []
        self.count = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _run(self, i):
        rng = random.Random(i)
        conn = httpclient.HTTPConnection(HOST, self.port, timeout=10)
        try:
            while not self.stopping.is_set():
                order = list(self.paths)
                rng.shuffle(order)
                for path in order:
                    if self.stopping.is_set():
                        break
                    conn.request("GET", path)
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        self.errors.append((path, r.status))
                    with self.lock:
                        self.count += 1
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.errors.append(repr(e))
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(15)
            assert not t.is_alive(), "a load thread hangs"
        assert not self.errors, self.errors[:5]
        return self.count


def test_prometheus_scrape_and_quantiles_agree():
    prometheus = need("prometheus")
    demo, port, admin, prom = free_port(), free_port(), free_port(), free_port()
    # Known mix: 50 % 20 ms, 25 % 60 ms, 15 % 120 ms, 10 % 170 ms. p95 and p99 fall in
    # the 170 ms group, in the middle of the (0.15, 0.2] bucket.
    mix = [20] * 10 + [60] * 5 + [120] * 3 + [170] * 2
    with demo_api(demo, latency_scale=0), Stub("odd") as odd, \
            tempfile.TemporaryDirectory(prefix="tg-prom-") as tmp:
        cfg = f"""
upstreams:
  - {{ name: api, servers: ["{HOST}:{demo}"] }}
  - {{ name: odd, servers: ["{odd.addr()}"] }}
default_upstream: odd
routes:
  - {{ name: sleep, methods: [GET], path: "/sleep/:ms", upstream: api }}
"""
        pcfg = os.path.join(tmp, "prometheus.yml")
        with open(pcfg, "w") as f:
            f.write(f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tailguard
    static_configs:
      - targets: ["{HOST}:{admin}"]
""")
        with gateway(port, admin, [], config=cfg):
            # the odd label must survive the scraper (twice: a path template becomes an
            # endpoint at its second sighting)
            assert get(port, ODD_PATH) == 200 and get(port, ODD_PATH) == 200
            with Proc([prometheus, f"--config.file={pcfg}",
                       f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                       f"--web.listen-address={HOST}:{prom}", "--log.level=warn"],
                      name="prometheus") as pp:
                pp.wait_http(f"http://{HOST}:{prom}/-/ready", timeout=60)
                # wait for the first successful scrape
                wait_until(lambda: prom_query(prom, 'up{job="tailguard"} == 1'), timeout=15,
                           what="Prometheus scraping the gateway")

                load = Load(port, [f"/sleep/{ms}" for ms in mix], scaled(8, 4)).start()
                t0 = time.time()
                try:
                    time.sleep(14 if not SANITIZED else 16)
                    # Same moment, same 10 s: the rate of the buckets vs tailguard's window.
                    # (Prometheus lags a scrape, tailguard an aggregation tick; the load is
                    # steady, so both see the same distribution.)
                    st, _, lat10 = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/"
                                             "metrics/latency?window=10s&endpoint=sleep")
                    assert st == 200, lat10
                    q10 = {}
                    for q in (0.95, 0.99):
                        q10[q] = prom_scalar(prom, f"histogram_quantile({q}, sum by (le) (rate("
                                             f'http_request_duration_seconds_bucket{{endpoint="sleep"}}'
                                             f"[10s])))")
                    time.sleep(2)
                finally:
                    n = load.stop()
                t_end = time.time()
                assert n > scaled(1000, 150), n
                print(f"over 10 s: tailguard p95 {lat10['current']['p95_ms']} ms p99 "
                      f"{lat10['current']['p99_ms']} ms; Prometheus p95 {q10[0.95] * 1000:.1f} ms "
                      f"p99 {q10[0.99] * 1000:.1f} ms; {n} requests")
                assert_same_bucket("p95 over 10s", lat10["current"]["p95_ms"] / 1000, q10[0.95])
                assert_same_bucket("p99 over 10s", lat10["current"]["p99_ms"] / 1000, q10[0.99])

                # The whole run: the gateway is fresh, so its cumulative buckets are the run,
                # and a window of 60 s covers it (the run is shorter).
                time.sleep(AGG_WAIT)  # the last aggregation tick
                assert time.time() - t0 < 55
                st, _, lat = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/"
                                       "metrics/latency?window=60s&endpoint=sleep")
                cur = lat["current"]
                assert cur["count"] == n, (cur["count"], n)
                # Prometheus' latest sample must come to hold every request tailguard counted
                wait_until(lambda: prom_scalar(
                    prom, 'sum(http_request_duration_seconds_count{endpoint="sleep"})') == n,
                    timeout=10, what=f"Prometheus to see all {n} requests")
                for q, key in ((0.95, "p95_ms"), (0.99, "p99_ms")):
                    pv = prom_scalar(prom, f"histogram_quantile({q}, sum by (le) ("
                                     f'http_request_duration_seconds_bucket{{endpoint="sleep"}}))')
                    print(f"{key} over the run: tailguard {cur[key]} ms, Prometheus "
                          f"{pv * 1000:.1f} ms")
                    assert_same_bucket(f"{key} over the run", cur[key] / 1000, pv)
                    # and both are where the mix puts them
                    assert 0.15 < pv <= 0.2, (q, pv)
                    assert 170 <= cur[key] < 200, cur
                # Prometheus' own view: the increase over the run matches too
                rng = int(t_end - t0) + 3
                inc = prom_scalar(prom, f'sum(increase(http_requests_total{{endpoint="sleep"}}'
                                  f"[{rng}s]))")
                assert inc > 0.8 * n, (inc, n)

                # the scrape itself: up, no errors, no duplicate/out-of-order samples,
                # no counter resets, and the odd label read back exactly
                st, _, targets = http_json("GET", f"http://{HOST}:{prom}/api/v1/targets")
                active = targets["data"]["activeTargets"]
                assert len(active) == 1 and active[0]["health"] == "up", active
                assert active[0]["lastError"] == "", active
                resets = prom_query(prom, "sum(resets(http_requests_total[1m])) + "
                                    "sum(resets(http_request_duration_seconds_bucket[1m]))")
                assert resets and float(resets[0]["value"][1]) == 0, resets
                st, _, vals = http_json("GET", f"http://{HOST}:{prom}/api/v1/label/endpoint/values")
                assert ODD_TEMPLATE in vals["data"] and "sleep" in vals["data"], vals
                st, _, pm = http("GET", f"http://{HOST}:{prom}/metrics")
                bad = {}
                for line in pm.decode().splitlines():
                    for metric in ("prometheus_target_scrapes_sample_duplicate_timestamp_total",
                                   "prometheus_target_scrapes_sample_out_of_order_total",
                                   "prometheus_target_scrapes_sample_out_of_bounds_total",
                                   "prometheus_target_scrapes_exceeded_sample_limit_total"):
                        if line.startswith(metric + " ") and float(line.split()[1]) != 0:
                            bad[metric] = line
                assert not bad, bad


if __name__ == "__main__":
    run_tests()
