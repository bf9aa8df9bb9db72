# SPDX-License-Identifier: MIT
"""Integration tests of `tailguard bench`'s command line against a real demo-api: bad
arguments (unknown flag, bad duration, unreachable host, rate of 0, ...) end with exit 2
and one error line, fast; --json carries the fields the issue names in both models;
request counts, keep-alive off, timeouts, thresholds (exit 1, sliding windows, abort on
fail), stages, scenario files with weights and body files, several URLs, SIGTERM, and
the hard duration cap. Every run is bounded and on 127.0.0.1."""

import json
import os
import signal
import subprocess
import tempfile
import time

from tgtest import BIN, SANITIZED, demo_api, free_port, run_tests, scaled

SLOW = 3 if SANITIZED else 1


def bench(*args, timeout=60):
    """Runs `tailguard bench ARGS`; returns (exit code, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run([BIN, "bench", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def bench_json(*args, timeout=60, expect=0):
    code, out, err, _ = bench("--json", *args, timeout=timeout)
    assert code == expect, (code, out, err)
    assert err == "", err
    return json.loads(out)


def url(port, path="/"):
    return f"http://127.0.0.1:{port}{path}"


def test_bad_arguments():
    port = free_port()  # nothing listens here: the unreachable host
    with demo_api(free_port(), latency_scale=0) as api:
        up = api.args[api.args.index("--listen") + 1]
        good = f"http://{up}/"
        cases = [
            (["--bogus", good], "--bogus"),
            (["-d", "abc", good], "abc"),
            (["-d", "10", "-d", "1x", good], "1x"),
            (["-R", "0", good], "-R"),
            (["-R", "-3", good], "-R"),
            (["-c", "0", good], "-c"),
            (["-t", "0", good], "-t"),
            (["-n", "lots", good], "-n"),
            (["--timeout", "soon", good], "--timeout"),
            ([url(port)], "cannot connect"),
            (["-d", "1s", url(port, "/x")], "Connection refused"),
            (["http://127.0.0.1:0/"], "bad port"),
            (["https://127.0.0.1:443/"], "https"),
            (["not-a-url"], "http://"),
            ([], "no URL"),
            (["--stages", "30s", good], "--stages"),
            (["--threshold", "p95<", good], "p95<"),
            (["--slo", "p95<1s", good], "--slo"),
            (["--find-capacity", good], "--slo"),
            (["--scenario", "/nonexistent/scenario.txt", good], "'/nonexistent/scenario.txt'"),
            (["--body-file", "/nonexistent/body.json", good], "'/nonexistent/body.json'"),
            (["-H", "Bad Header", good], "bad header"),
            (["-c", "1000000", good], "file descriptors"),
            ([good, url(free_port())], "same host and port"),
            (["-n"], "needs a value"),
        ]
        for args, needle in cases:
            code, out, err, dt = bench(*args, timeout=20)
            lines = err.splitlines()
            assert code == 2, (args, code, out, err)
            assert out == "", (args, out)
            assert len(lines) == 1 and lines[0].startswith("tailguard bench: "), (args, err)
            assert needle in lines[0], (args, needle, err)
            assert dt < 5, (args, dt)
        code, out, err, _ = bench("--help")
        assert code == 0 and "usage: tailguard bench" in out and "--find-capacity" in out
        assert err == ""


def test_json_fields_closed_and_open():
    port = free_port()
    with demo_api(port, latency_scale=0):
        v = bench_json("-c", 4, "-t", 2, "-d", "1s", url(port))
        for k in ("requests", "rps", "errors", "status", "latency_ms", "errors_by_kind",
                  "bytes", "responses", "elapsed_s"):
            assert k in v, (k, v)
        assert v["model"] == "closed" and v["threads"] == 2 and v["connections"] == 4
        assert v["requests"] > 50 and v["errors"] == 0 and v["status"] == {"200": v["requests"]}
        assert set(v["latency_ms"]) >= {"p50", "p90", "p95", "p99", "p999", "max", "mean"}
        lat = v["latency_ms"]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["p999"] <= lat["max"]
        assert "latency_uncorrected_ms" not in v
        assert abs(v["rps"] - v["requests"] / v["elapsed_s"]) < 0.01 * v["rps"] + 1
        assert v["bytes"]["sent"] > 0 and v["bytes"]["received"] > 0
        assert v["errors_by_kind"] == {"connect": 0, "timeout": 0, "reset": 0,
                                       "bad_response": 0, "http": 0}

        rate = scaled(200, 100)
        v = bench_json("-R", rate, "-d", "2s", url(port))
        assert v["model"] == "open" and v["offered_rps"] == rate
        assert "latency_uncorrected_ms" in v and "late_sends" in v
        assert set(v["latency_uncorrected_ms"]) >= {"p50", "p90", "p95", "p99", "p999", "max",
                                                    "mean"}
        # The schedule is exact: rate x duration requests, every one answered.
        assert v["requests"] == 2 * rate and v["status"] == {"200": 2 * rate}, v
        assert abs(v["rps"] - rate) < 0.1 * rate, v


def test_counts_keepalive_timeouts():
    port = free_port()
    with demo_api(port, latency_scale=0):
        n = scaled(2000, 400)
        v = bench_json("-n", n, "-c", 8, "-t", 2, url(port))
        assert v["requests"] == n and v["status"] == {"200": n}, v
        assert v["connections_opened"] == 8, v
        assert v["duration_s"] is None, v  # bounded by the count alone
        # The open model with a count: the schedule ends at request n.
        v = bench_json("-R", 200, "-n", 300, url(port))
        assert v["requests"] == 300 and v["offered_rps"] == 200, v
        assert 1.3 < v["elapsed_s"] < 2.5 * SLOW, v
        # Keep-alive off: a connection per request.
        n = scaled(300, 100)
        v = bench_json("-n", n, "-c", 4, "--no-keepalive", url(port))
        assert v["requests"] == n and v["errors"] == 0, v
        assert v["connections_opened"] == n, v
        # Timeouts are errors of their own kind, and the run still ends on time.
        t0 = time.monotonic()
        v = bench_json("-c", 2, "-d", "1s", "--timeout", "300ms", url(port, "/sleep/2000"),
                       expect=0)
        assert v["errors_by_kind"]["timeout"] >= 2 and v["responses"] == 0, v
        assert time.monotonic() - t0 < 5 * SLOW
        # An HTTP error status counts as an error (k6's rule), by kind "http".
        v = bench_json("-n", 50, "-c", 2, url(port, "/status/503"))
        assert v["errors"] == 50 and v["errors_by_kind"]["http"] == 50
        assert v["status"] == {"503": 50}


def test_thresholds():
    port = free_port()
    with demo_api(port, latency_scale=0):
        u = url(port, "/sleep/20")
        v = bench_json("-c", 2, "-d", "1s", "--threshold", "p95<1s,errors<1%", u)
        assert [t["ok"] for t in v["thresholds"]] == [True, True], v["thresholds"]
        assert v["thresholds"][0]["unit"] == "ms" and v["thresholds"][0]["value"] >= 20
        v = bench_json("-c", 2, "-d", "1s", "--threshold", "p95<5ms", "--threshold", "rps>=1",
                       u, expect=1)
        assert [t["ok"] for t in v["thresholds"]] == [False, True], v["thresholds"]
        code, out, err, _ = bench("-c", 2, "-d", "1s", "--threshold", "p95<5ms", u)
        assert code == 1 and "FAIL" in out and "p95<5ms" in out, out
        # Abort on fail: a window that fails stops the run long before its 30 s.
        t0 = time.monotonic()
        v = bench_json("-c", 2, "-d", "30s", "--threshold", "errors<1% over 1s abort",
                       url(port, "/status/500"), expect=1)
        assert v["aborted"] is True and v["thresholds"][0]["ok"] is False, v
        assert v["thresholds"][0]["window_s"] == 1
        assert time.monotonic() - t0 < 6 * SLOW
        # A window judged over a run too short to fill it still gets a verdict.
        v = bench_json("-c", 2, "-d", "1s", "--threshold", "p99<1s over 30s", u)
        assert v["thresholds"][0]["ok"] is True and v["thresholds"][0]["value"] is not None


def test_stages():
    port = free_port()
    with demo_api(port, latency_scale=0):
        # Open model: a ramp from 0 to 200 rps over 2 s is exactly 200 requests.
        t0 = time.monotonic()
        v = bench_json("--stages", "2s:200rps", url(port))
        assert v["model"] == "open" and v["requests"] == 200, v
        assert 1.8 < time.monotonic() - t0 < 6 * SLOW
        # -R gives the starting rate: 100 -> 100 for 1 s, then 100 -> 0 over 1 s: 150.
        v = bench_json("-R", 100, "--stages", "1s:100,1s:0", url(port))
        assert v["requests"] == 150, v
        # Closed model: connection targets.
        v = bench_json("--stages", "1s:4,1s:4,1s:0", "-t", 1, url(port, "/sleep/10"))
        assert v["model"] == "closed" and v["connections"] == 4
        # About 4 connections x 100 rps x 2 s (plus the ramps), never more than 4 open.
        assert 400 < v["requests"] < 1200 and v["errors"] == 0, v
        assert v["connections_opened"] <= 8, v


def test_scenario_and_urls():
    port = free_port()
    with demo_api(port, latency_scale=0), tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "body.json"), "w") as f:
            f.write('{"prompt":"hello"}')
        path = os.path.join(d, "mix.txt")
        with open(path, "w") as f:
            f.write("# weights\n80 GET /status/200\n15 GET /status/404\n"
                    "5 POST /echo @body.json\n    Content-Type: application/json\n")
        v = bench_json("--scenario", path, "-n", 1000, "-t", 1, "-c", 4, url(port), expect=0)
        assert v["status"] == {"200": 850, "404": 150}, v
        assert v["errors"] == 150 and v["errors_by_kind"]["http"] == 150
        # Several URLs are sent in turn; -m and --body apply to each.
        v = bench_json("-n", 100, "-t", 1, "-c", 1, "-m", "POST", "--body", "x",
                       url(port, "/status/201"), url(port, "/status/202"))
        assert v["status"] == {"201": 50, "202": 50}, v
        # --body-file sends the file's bytes (POST by default) to every URL.
        big = os.path.join(d, "big.json")
        with open(big, "w") as f:
            f.write("x" * 300000)
        v = bench_json("-n", 20, "-c", 2, "--body-file", big, url(port, "/status/201"))
        assert v["status"] == {"201": 20} and v["bytes"]["sent"] > 20 * 300000, v
        # A bad scenario line is a usage error naming the line.
        with open(path, "w") as f:
            f.write("GET /\n  not a header\n")
        code, out, err, _ = bench("--scenario", path, url(port))
        assert code == 2 and "line 2" in err and len(err.splitlines()) == 1, err


def test_signal_and_hard_cap():
    port = free_port()
    with demo_api(port, latency_scale=0):
        # SIGTERM ends the run early and still reports what was measured.
        p = subprocess.Popen([BIN, "bench", "--json", "-c", "2", "-d", "60s", url(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        assert p.returncode == 0, (p.returncode, err)
        v = json.loads(out)
        assert v["interrupted"] is True and v["requests"] > 0, v
        # The hard cap stops a run whose request count would take far too long.
        t0 = time.monotonic()
        v = bench_json("-n", 1000000, "-c", 2, "--max-duration", "2s", url(port, "/sleep/100"))
        assert v["capped"] is True and v["requests"] < 1000000, v
        assert time.monotonic() - t0 < 6 * SLOW


if __name__ == "__main__":
    run_tests()
