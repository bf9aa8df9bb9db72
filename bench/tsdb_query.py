#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Query latency of two Prometheus HTTP APIs holding the same data, for
bench/tsdb_vs_prometheus.sh: one expression as an instant query at END and as a range
query over [END - RANGE, END] at STEP, WARMUP unmeasured runs then RUNS measured runs of
each, the two servers taking turns so background load hits both alike. The time is the
client's, from sending the request to the last byte of the answer (GET, one new
connection per request, as curl or Grafana's proxy would do), so it includes the JSON
encoding on each side. Prints the medians and the ratio reference/tailguard, and checks
that the answers hold the same series with values within 1e-9 relative, so that both
did the same work. All on 127.0.0.1.

    tsdb_query.py REF_PORT TG_PORT EXPR END RANGE STEP RUNS WARMUP

Exit status 1 when the answers differ or a query fails; a server that has no
/api/v1/query (404) is reported and skipped, exit status 0."""
import http.client
import json
import math
import statistics
import sys
import time
import urllib.parse

HOST = "127.0.0.1"


def get(port, path, params):
    """(seconds, status, body) of one GET."""
    url = path + "?" + urllib.parse.urlencode(params)
    c = http.client.HTTPConnection(HOST, port, timeout=120)
    t0 = time.monotonic()
    c.request("GET", url)
    r = c.getresponse()
    body = r.read()
    dt = time.monotonic() - t0
    c.close()
    return dt, r.status, body


def points(doc):
    """{labels: [(t, v), ...]} of an instant or range answer."""
    data = doc["data"]
    out = {}
    for s in data["result"]:
        key = tuple(sorted(s["metric"].items()))
        pts = s["values"] if data["resultType"] == "matrix" else [s["value"]]
        out[key] = [(float(t), float(v)) for t, v in pts]
    return out


def same(a, b):
    """None when equal within 1e-9 relative (NaN equal to NaN), else what differs."""
    if a.keys() != b.keys():
        return f"series differ: {len(a)} vs {len(b)}, e.g. {sorted(a.keys() ^ b.keys())[:1]}"
    for k in a:
        if [t for t, _ in a[k]] != [t for t, _ in b[k]]:
            return f"timestamps differ for {dict(k)}"
        for (t, x), (_, y) in zip(a[k], b[k]):
            if math.isnan(x) and math.isnan(y):
                continue
            if not math.isclose(x, y, rel_tol=1e-9, abs_tol=0):
                return f"value differs for {dict(k)} at {t}: {x!r} vs {y!r}"
    return None


def main():
    if len(sys.argv) != 9:
        sys.exit(__doc__)
    ref, tg, expr = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    end, rng, step = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    runs, warmup = int(sys.argv[7]), int(sys.argv[8])
    kinds = [("instant", "/api/v1/query", {"query": expr, "time": end}),
             ("range", "/api/v1/query_range",
              {"query": expr, "start": end - rng, "end": end, "step": step})]
    _, status, _ = get(tg, "/api/v1/query", {"query": "1", "time": end})
    if status == 404:
        print("tailguard answers 404 to /api/v1/query: this build has no Prometheus HTTP API; "
              "HTTP latency of tailguard skipped")
        targets = {"prometheus": ref}
    else:
        targets = {"prometheus": ref, "tailguard": tg}
    bad = False
    for kind, path, params in kinds:
        times = {name: [] for name in targets}
        answers = {}
        for i in range(warmup + runs):
            order = list(targets.items())
            if i % 2:
                order.reverse()
            for name, port in order:
                dt, status, body = get(port, path, params)
                if status != 200:
                    print(f"{kind}: {name} answered {status}: {body[:300]!r}")
                    return 1
                if i >= warmup:
                    times[name].append(dt)
                answers[name] = body
        med = {name: statistics.median(t) * 1e3 for name, t in times.items()}
        docs = {name: json.loads(b) for name, b in answers.items()}
        ref_pts = points(docs["prometheus"])
        npts = sum(len(p) for p in ref_pts.values())
        line = (f"{kind:8} {len(ref_pts)} series, {npts} points, median of {runs} "
                f"(after {warmup} warm-ups): prometheus {med['prometheus']:.1f} ms "
                f"[{min(times['prometheus']) * 1e3:.1f}-{max(times['prometheus']) * 1e3:.1f}]")
        if "tailguard" in med:
            t = times["tailguard"]
            line += (f", tailguard {med['tailguard']:.1f} ms [{min(t) * 1e3:.1f}-"
                     f"{max(t) * 1e3:.1f}], prometheus/tailguard {med['prometheus'] / med['tailguard']:.2f}")
            diff = same(ref_pts, points(docs["tailguard"]))
            line += ", answers equal" if diff is None else f", ANSWERS DIFFER: {diff}"
            bad |= diff is not None
        print(line)
        print(f"RESULT {kind} " + " ".join(f"{n}_ms={m:.3f}" for n, m in med.items()))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
