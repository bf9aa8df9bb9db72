# SPDX-License-Identifier: MIT
"""The Prometheus HTTP API on the admin listener (docs/api.md): a gateway scraping itself
every 200 ms, with some traffic through it to a stub upstream, answers query,
query_range, series, labels, label values, metadata, targets, status/*, format_query and
query_exemplars in Prometheus 2.42's shapes, with its error types, status codes and
messages (each message below was read off a real Prometheus 2.42 given the same
request); GET and POST forms; the 11,000-point limit at its exact boundary; `timeout`;
Debian's promtool reading it as a Prometheus; and `tailguard query`.
"""
import json
import math
import shutil
import subprocess
import time
import urllib.parse

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

HOST = "127.0.0.1"
# The gateway's own job only: the host collector, on by default, would add its own.
CONFIG = "tsdb: {scrape_interval: 200ms}\ncollectors: {host: {enabled: false}}\n"

_gw = {}


def gw():
    """One gateway and stub for every test here, started on first use, with traffic
    and a few scrapes in the store."""
    if not _gw:
        stub = Stub()
        port, admin = free_port(), free_port()
        p = gateway(port, admin, [stub.addr()], config=CONFIG)
        for i in range(20):
            st, _, _ = http("GET", f"http://{HOST}:{port}/api/items/{i % 3}")
            assert st == 200
        _gw.update(stub=stub, proc=p, port=port, admin=admin)
        # Six seconds of scrapes (30 at 200 ms), so that ranges that start up to four
        # seconds ago have data at their first step.
        wait_until(lambda: api("query", query="count_over_time(up[10s]) >= 30 and "
                               "on() count(http_requests_total) > 0")[1]["data"]["result"],
                   timeout=scaled(20, 40), what="6 s of scrapes with traffic in the store")
    return _gw


def url(path, **params):
    q = urllib.parse.urlencode(params, doseq=True)
    return f"http://{HOST}:{gw()['admin']}/api/v1/{path}" + (f"?{q}" if q else "")


def api(path, method="GET", body=None, headers=None, **params):
    st, h, b = http(method, url(path, **params), body=body, headers=headers, timeout=30)
    return st, json.loads(b) if b else None


def ok(path, **params):
    st, j = api(path, **params)
    assert st == 200 and j["status"] == "success", (path, params, st, j)
    assert set(j) == {"status", "data"}, j
    return j["data"]


def err(path, status, etype, msg, **params):
    st, j = api(path, **params)
    assert (st, j) == (status, {"status": "error", "errorType": etype, "error": msg}), \
        (path, params, st, j)


def now():
    gw()  # started (and scraped) before the time is read
    return time.time()


# ---------------------------------------------------------------- query


def test_query_vector_shape():
    t = round(now(), 3)
    d = ok("query", query="up", time=str(t))
    assert d["resultType"] == "vector", d
    [s] = d["result"]
    assert s["metric"] == {"__name__": "up", "job": "tailguard",
                           "instance": f"{HOST}:{gw()['admin']}"}, s
    assert s["value"][1] == "1" and abs(s["value"][0] - t) < 1e-9, s
    [s] = ok("query", query="sum(http_requests_total)")["result"]
    assert s["metric"] == {} and float(s["value"][1]) >= 20, s


def test_query_scalar_string_matrix_and_formats():
    # Scalars and strings carry a JSON float time and 'f' values; vectors carry a
    # time with three decimals and the shortest form switching to 'e' below 1e-6.
    assert ok("query", query="1e-7", time="1.5") == {"resultType": "scalar",
                                                     "result": [1.5, "0.0000001"]}
    assert ok("query", query='"a"', time="1.1") == {"resultType": "string",
                                                    "result": [1.1, "a"]}
    st, h, b = http("GET", url("query", query="vector(1e-7)", time="1.5"))
    assert b == (b'{"status":"success","data":{"resultType":"vector","result":'
                 b'[{"metric":{},"value":[1.500,"1e-07"]}]}}'), b
    st, h, b = http("GET", url("query", query="vector(-0*1) or vector(1/0)", time="2"))
    assert b'"value":[2,"-0"]' in b and st == 200, b
    assert ok("query", query="NaN", time="100")["result"] == [100, "NaN"]
    # Go's wrapping arithmetic: a time of 1e10 seconds reaches the engine as this.
    assert ok("query", query="time()", time="1e10")["result"][0] == -8446744073.709
    d = ok("query", query="up[1s]")
    assert d["resultType"] == "matrix" and d["result"][0]["values"], d
    assert all(isinstance(p[0], float) or isinstance(p[0], int)
               for p in d["result"][0]["values"])


def test_query_times_and_errors():
    assert ok("query", query="time()", time="2020-01-01T01:00:00.5+01:00")["result"] == \
        [1577836800.5, "1577836800.5"]
    assert ok("query", query="time()", time="0x1p4")["result"] == [16, "16"]
    err("query", 400, "bad_data",
        "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"x\" "
        "to a valid timestamp", query="up", time="x")
    err("query", 400, "bad_data",
        "invalid parameter \"query\": 1:1: parse error: no expression found in input",
        query="")
    err("query", 400, "bad_data", "invalid parameter \"query\": 1:5: parse error: "
        "unexpected end of input", query="up +")
    # time is checked before timeout, timeout before the query
    err("query", 400, "bad_data", "invalid parameter \"timeout\": cannot parse \"abc\" to a "
        "valid duration", query="up +", timeout="abc")
    err("query", 400, "bad_data",
        "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"y\" "
        "to a valid timestamp", query="up +", timeout="abc", time="y")
    st, j = api("query", query="rate(http_requests_total[5m]) by (status)")
    assert st == 400 and j["errorType"] == "bad_data" and "unexpected <by>" in j["error"], j
    st, j = api("query", query='{__name__=~"http_.+"} / on() {__name__=~"http_.+"}')
    assert st == 422 and j["errorType"] == "execution", (st, j)


def test_post_form():
    # The body's value wins over the query string's, as with Go's ParseForm.
    st, j = api("query", method="POST", body=b"query=1%2B2&time=10",
                headers={"Content-Type": "application/x-www-form-urlencoded"}, query="5")
    assert st == 200 and j["data"]["result"] == [10, "3"], j
    # Another content type: the body is ignored.
    st, j = api("query", method="POST", body=b"query=1", headers={"Content-Type": "text/plain"},
                query="7", time="1")
    assert j["data"]["result"] == [1, "7"], j
    t = int(now())
    st, j = api("query_range", method="POST",
                body=f"query=up&start={t - 2}&end={t}&step=1s".encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert st == 200 and j["data"]["resultType"] == "matrix", j
    st, h, b = http("PUT", url("query", query="1"))
    assert st == 405 and b == b"Method Not Allowed\n", (st, b)
    st, h, b = http("OPTIONS", url("query"))
    assert st == 204, st


# ---------------------------------------------------------------- query_range


def test_query_range_shape():
    t = int(now()) - 1
    d = ok("query_range", query="up", start=str(t - 2), end=str(t), step="1")
    [s] = d["result"]
    assert [p[0] for p in s["values"]] == [t - 2, t - 1, t], s
    assert {p[1] for p in s["values"]} == {"1"}
    d = ok("query_range", query="2", start="0", end="1", step="500ms")
    assert d == {"resultType": "matrix",
                 "result": [{"metric": {}, "values": [[0, "2"], [0.5, "2"], [1, "2"]]}]}, d
    rs = ok("query_range", query="http_requests_total", start=str(t - 2), end=str(t),
            step="1")["result"]
    keys = [json.dumps(sorted(r["metric"].items())) for r in rs]
    assert len(rs) >= 1 and keys == sorted(keys), keys
    assert ok("query_range", query="up", start="1", end="2", step="1")["result"] == []


def test_query_range_errors():
    E = "bad_data"
    err("query_range", 400, E, 'invalid parameter "start": cannot parse "" to a valid timestamp',
        query="up")
    err("query_range", 400, E, 'invalid parameter "end": cannot parse "x" to a valid timestamp',
        query="up", start="1", end="x")
    err("query_range", 400, E, 'invalid parameter "end": end timestamp must not be before '
        'start time', query="up", start="2", end="1", step="1")
    err("query_range", 400, E, 'invalid parameter "step": cannot parse "" to a valid duration',
        query="up", start="1", end="2")
    err("query_range", 400, E, 'invalid parameter "step": zero or negative query resolution '
        'step widths are not accepted. Try a positive integer', query="up", start="1",
        end="2", step="0")
    err("query_range", 400, E, 'invalid parameter "step": cannot parse "1e300" to a valid '
        'duration. It overflows int64', query="up", start="1", end="2", step="1e300")
    err("query_range", 400, E, "1:1: parse error: no expression found in input",
        query="", start="1", end="2", step="1")
    err("query_range", 400, E, 'invalid expression type "string" for range query, must be '
        'Scalar or instant Vector', query='"a"', start="1", end="2", step="1")
    err("query_range", 422, "execution",
        "unexpected error: runtime error: integer divide by zero",
        query="up", start="0", end="1", step="0.0001")


def test_point_limit_boundary():
    limit = ("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
             "the query resolution (?step=XX)")
    # 11,000 intervals (11,001 points) pass, as in Prometheus; one more does not, and the
    # limit is checked before the query is parsed.
    d = ok("query_range", query="1", start="0", end="11000", step="1")
    assert len(d["result"][0]["values"]) == 11001, len(d["result"][0]["values"])
    err("query_range", 400, "bad_data", limit, query="up +", start="0", end="11001", step="1")
    err("query_range", 400, "bad_data", limit, query="up", start="0", end="1100.1",
        step="100ms")


def test_timeout():
    t = int(now())
    q = "sum(rate(http_requests_total[5m])) + count(up)"
    span = dict(query=q, start=str(t - 11000), end=str(t), step="1")
    st, j = api("query_range", timeout="1ms", **span)
    assert (st, j) == (503, {"status": "error", "errorType": "timeout",
                             "error": "query timed out in expression evaluation"}), (st, j)
    assert len(ok("query_range", timeout="2m", **span)["result"]) == 1
    err("query", 503, "timeout", "query timed out in query queue", query="up", timeout="0")
    err("query", 400, "bad_data", 'invalid parameter "timeout": cannot parse "5x" to a valid '
        'duration', query="up", timeout="5x")
    assert ok("query", query="up", timeout="1.5")["result"]


# ---------------------------------------------------------------- metadata endpoints


def test_series():
    inst = f"{HOST}:{gw()['admin']}"
    assert ok("series", **{"match[]": "up"}) == [
        {"__name__": "up", "instance": inst, "job": "tailguard"}]
    two = ok("series", **{"match[]": ["up", 'up{job="tailguard"}', "http_requests_total"]})
    assert two[0]["__name__"] == "http_requests_total" and two[-1]["__name__"] == "up", two
    assert len([s for s in two if s["__name__"] == "up"]) == 1, two
    assert ok("series", **{"match[]": "up", "end": "1"}) == []
    err("series", 400, "bad_data", "no match[] parameter provided")
    err("series", 400, "bad_data", 'invalid parameter "match[]": match[] must contain at '
        'least one non-empty matcher', **{"match[]": '{a=~".*"}'})
    # Not a lone selector: the selector parser's own words, as Prometheus 2.42 answers.
    err("series", 400, "bad_data", 'invalid parameter "match[]": 1:5: parse error: '
        'unexpected "("', **{"match[]": "rate(up[5m])"})
    err("series", 400, "bad_data", 'invalid parameter "match[]": 1:4: parse error: '
        "unexpected <offset>", **{"match[]": "up offset 5m"})
    err("series", 400, "bad_data", "invalid parameter \"start\": Invalid time value for "
        "'start': cannot parse \"x\" to a valid timestamp", **{"match[]": "up", "start": "x"})
    st, h, b = http("GET", url("series") + "?match[]=%zz")
    assert (st, json.loads(b)["error"]) == (400, 'error parsing form values: invalid URL '
                                                 'escape "%zz"'), b
    st, j = api("series", method="POST", body=b"match[]=up",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 200 and len(j["data"]) == 1, j


def test_labels_and_values():
    names = ok("labels")
    assert names == sorted(names) and {"__name__", "job", "instance", "endpoint"} <= set(names)
    assert ok("labels", **{"match[]": "up"}) == ["__name__", "instance", "job"]
    assert ok("labels", start="1", end="2") == []
    err("labels", 400, "bad_data", "match[] must contain at least one non-empty matcher",
        **{"match[]": '{x=""}'})
    vals = ok("label/__name__/values")
    assert "up" in vals and "http_requests_total" in vals and vals == sorted(vals), vals
    assert ok("label/job/values", **{"match[]": "up"}) == ["tailguard"]
    err("label/1bad/values", 400, "bad_data", 'invalid label name: "1bad"')


def test_metadata_targets_status():
    md = ok("metadata")
    assert md["http_requests_total"] == [{"type": "counter", "help": md[
        "http_requests_total"][0]["help"], "unit": ""}], md["http_requests_total"]
    assert md["http_request_duration_seconds"][0]["type"] == "histogram"
    assert list(md) == sorted(md)
    assert list(ok("metadata", limit="2")) == sorted(md)[:2]
    assert ok("metadata", limit="0") == {}
    assert list(ok("metadata", metric="http_requests_total")) == ["http_requests_total"]
    err("metadata", 400, "bad_data", "limit must be a number", limit="x")
    tg = ok("targets")
    [t] = tg["activeTargets"]
    inst = f"{HOST}:{gw()['admin']}"
    assert tg["droppedTargets"] == []
    assert list(t) == ["discoveredLabels", "labels", "scrapePool", "scrapeUrl", "globalUrl",
                       "lastError", "lastScrape", "lastScrapeDuration", "health",
                       "scrapeInterval", "scrapeTimeout"], list(t)
    assert t["labels"] == {"instance": inst, "job": "tailguard"}, t
    assert (t["health"], t["scrapeInterval"], t["scrapeUrl"]) == \
        ("up", "200ms", f"http://{inst}/metrics"), t
    assert ok("targets", state="dropped")["activeTargets"] == []
    bi = ok("status/buildinfo")
    assert set(bi) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    assert ok("status/flags")["query.timeout"] == "2m"
    assert "startTime" in ok("status/runtimeinfo")
    ts = ok("status/tsdb")
    hs = ts["headStats"]
    assert hs["numSeries"] > 10 and hs["maxTime"] > hs["minTime"] > 0, hs
    top = ts["seriesCountByMetricName"]
    assert 0 < len(top) <= 10 and top == sorted(top, key=lambda x: -x["value"]), top
    assert {"labelValueCountByLabelName", "memoryInBytesByLabelName",
            "seriesCountByLabelValuePair"} <= set(ts)
    assert ok("format_query", query="sum(x)by(y)") == "sum by (y) (x)"
    err("format_query", 400, "bad_data", 'invalid parameter "query": 1:5: parse error: '
        'unexpected end of input', query="up +")
    assert ok("query_exemplars", query="up") == []


# ---------------------------------------------------------------- clients


def promtool(*args):
    r = subprocess.run(["promtool", "query", *args], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout, r.stderr


def test_promtool():
    if not shutil.which("promtool"):
        raise AssertionError("promtool is not installed (scripts/install-deps.sh)")
    base = f"http://{HOST}:{gw()['admin']}"
    inst = f"{HOST}:{gw()['admin']}"
    rc, out, e = promtool("instant", base, "up")
    assert rc == 0 and out.startswith(f'up{{instance="{inst}", job="tailguard"}} => 1 @['), \
        (rc, out, e)
    t = int(now()) - 1
    rc, out, e = promtool("range", f"--start={t - 2}", f"--end={t}", "--step=1s", base,
                          "sum(up)")
    assert rc == 0 and out.split("\n")[:4] == [
        "{} =>", f"1 @[{t - 2}]", f"1 @[{t - 1}]", f"1 @[{t}]"], (rc, out, e)
    rc, out, e = promtool("series", "--match=up", base)
    assert rc == 0 and out.strip() == f'{{__name__="up", instance="{inst}", job="tailguard"}}', \
        (rc, out, e)
    rc, out, e = promtool("labels", base, "job")
    assert rc == 0 and out.strip() == "tailguard", (rc, out, e)
    rc, out, e = promtool("labels", "--match=up", base, "__name__")
    assert rc == 0 and out.strip() == "up", (rc, out, e)
    rc, out, e = promtool("instant", base, "up +")
    assert rc == 1 and "bad_data" in e and "unexpected end of input" in e, (rc, out, e)


def test_tailguard_query():
    admin = f"{HOST}:{gw()['admin']}"
    r = subprocess.run([BIN, "query", "up", "--admin", admin], capture_output=True, text=True,
                       timeout=30)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0].split() == ["SERIES", "VALUE"], r
    assert lines[1].split() == [f'up{{instance="{admin}",', 'job="tailguard"}', "1"], lines
    t = int(now()) - 1
    r = subprocess.run([BIN, "query", "sum(up)", "--range", "--start", str(t - 1), "--end",
                        str(t), "--step", "1s", "--admin", admin], capture_output=True,
                       text=True, timeout=30)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0] == "{}" and len(lines) == 3, r
    assert all(ln.split()[1] == "1" for ln in lines[1:]), lines
    r = subprocess.run([BIN, "query", "up +", "--admin", admin], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "bad_data" in r.stderr and "unexpected end" in r.stderr, r
    r = subprocess.run([BIN, "query", "--admin", admin], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, r


def test_zz_stop():
    """Stops the shared gateway (last in definition order)."""
    g = gw()
    g["proc"].stop()
    g["stub"].stop()
    assert math.isfinite(1.0)


if __name__ == "__main__":
    run_tests()
