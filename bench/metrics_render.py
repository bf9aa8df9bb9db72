#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GET /metrics on a gateway with ENDPOINTS endpoints (default 200): render time and the
memory a scrape takes, for one or two tailguard binaries in the same run, and (with two)
a comparison of their expositions.

    python3 bench/metrics_render.py build/tailguard [OTHER_BINARY]

For each binary: a demo API (latency scale 0) and a gateway in front of it, every
endpoint requested (/api/analytics/<name>, twice, so each passes the template
probation), then SCRAPES sequential scrapes (time from request to the last body byte,
median and p90) and PARALLEL scrapers that read their response SLOW_READ seconds late
(the gateway's peak resident memory, VmHWM, before and after, from /proc). All traffic is
on 127.0.0.1; every process started is stopped by its own id.

The comparison parses both expositions and prints what differs: families present, HELP
and TYPE lines, the series of each family in order, and values (those of process_*,
*_timestamp_seconds and the admin listener's own counters change between any two scrapes
and are compared by name only)."""
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
ENDPOINTS = int(os.environ.get("ENDPOINTS", "200"))
SCRAPES = int(os.environ.get("SCRAPES", "50"))
PARALLEL = int(os.environ.get("PARALLEL", "8"))
SLOW_READ = float(os.environ.get("SLOW_READ", "1.0"))
DEADLINE = time.monotonic() + float(os.environ.get("DEADLINE", "300"))


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc):
    while time.monotonic() < DEADLINE:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early ({proc.args[:2]})")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("timed out waiting for a port")


def name(i):
    s = ""
    i += 26 * 26  # three letters at least: never a number, never hex-only
    while i:
        s = chr(ord("g") + i % 20) + s  # g..z: no hex digits, so no ":id" template
        i //= 20
    return s


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """User + system CPU seconds of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def unchunk(data):
    out, i = [], 0
    while True:
        j = data.index(b"\r\n", i)
        n = int(data[i:j].split(b";")[0], 16)
        if n == 0:
            return b"".join(out)
        out.append(data[j + 2:j + 2 + n])
        i = j + 2 + n + 2


def scrape(port, delay=0.0):
    """(seconds to the last byte, body, framing) of one GET /metrics, read raw until the
    gateway closes (Connection: close), so the client's own parsing is not timed."""
    s = socket.create_connection((HOST, port), timeout=30)
    t0 = time.monotonic()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    if delay:
        time.sleep(delay)
    parts = []
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        parts.append(b)
    dt = time.monotonic() - t0
    s.close()
    data = b"".join(parts)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    chunked = b"transfer-encoding: chunked" in head.lower()
    return dt, unchunk(body) if chunked else body, "chunked" if chunked else "content-length"


def run(binary):
    procs = []
    try:
        api_port, gw_port, admin_port = free_port(), free_port(), free_port()
        api = subprocess.Popen([binary, "demo-api", "--listen", f"{HOST}:{api_port}",
                                "--latency-scale", "0"], stderr=subprocess.DEVNULL)
        procs.append(api)
        wait_port(api_port, api)
        gw = subprocess.Popen([binary, "run", "--listen", f"{HOST}:{gw_port}", "--admin",
                               f"{HOST}:{admin_port}", "--upstream", f"{HOST}:{api_port}"],
                              stderr=subprocess.DEVNULL)
        procs.append(gw)
        wait_port(gw_port, gw)
        wait_port(admin_port, gw)
        c = http.client.HTTPConnection(HOST, gw_port, timeout=10)
        for _ in range(2):
            for i in range(ENDPOINTS):
                for method in ("GET", "HEAD"):
                    c.request(method, f"/api/analytics/{name(i)}")
                    c.getresponse().read()
        c.close()
        time.sleep(1.5)  # the aggregate folds the shards in once a second
        hwm0 = vm_hwm_kb(gw.pid)
        times, body, framing = [], b"", ""
        cpu0 = cpu_s(gw.pid)
        for _ in range(SCRAPES):
            dt, body, framing = scrape(admin_port)
            times.append(dt)
        cpu = (cpu_s(gw.pid) - cpu0) / SCRAPES
        hwm1 = vm_hwm_kb(gw.pid)
        threads = [threading.Thread(target=scrape, args=(admin_port, SLOW_READ))
                   for _ in range(PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        hwm2 = vm_hwm_kb(gw.pid)
        times.sort()
        lines = body.count(b"\n")
        print(f"{binary}: {ENDPOINTS} endpoints, body {len(body)} bytes ({framing}), "
              f"{lines} lines")
        print(f"  render+read, {SCRAPES} sequential scrapes: median "
              f"{statistics.median(times) * 1e3:.2f} ms, p90 "
              f"{times[int(len(times) * 0.9)] * 1e3:.2f} ms; gateway CPU {cpu * 1e3:.1f} ms "
              f"per scrape (whole process, 10 ms clock ticks)")
        print(f"  peak RSS (VmHWM): {hwm0} kB before scrapes, +{hwm1 - hwm0} kB after "
              f"{SCRAPES} sequential, +{hwm2 - hwm0} kB after {PARALLEL} parallel slow "
              f"readers ({SLOW_READ:g} s)")
        return body
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# Values that differ between any two runs: timings, the process, the admin listener.
VOLATILE = re.compile(r"^(process_|tailguard_admin_|tailguard_control_task_|.*_seconds$|"
                      r"tailguard_eventloop_lag|http_connections_active|tailguard_store_)")
PORT = re.compile(r'127\.0\.0\.1:\d+')


def parse(body):
    fams, order = {}, []
    cur = None
    for line in body.decode().splitlines():
        if line.startswith("# HELP "):
            cur = line.split(" ", 3)[2]
            order.append(cur)
            fams[cur] = {"meta": [line], "series": []}
        elif line.startswith("# TYPE "):
            fams[cur]["meta"].append(line)
        elif line:
            key, _, value = PORT.sub("127.0.0.1:PORT", line).rpartition(" ")
            fams[cur]["series"].append((key, value))
    return order, fams


def compare(a, b):
    oa, fa = parse(a)
    ob, fb = parse(b)
    print(f"families: {len(oa)} vs {len(ob)}; only in the first: "
          f"{sorted(set(oa) - set(ob))}; only in the second: {sorted(set(ob) - set(oa))}")
    moved = [f for f in oa if f in fb and oa.index(f) != ob.index(f)]
    print(f"families at another position: {len(moved)}")
    spelled = differ = 0
    for f in oa:
        if f not in fb:
            continue
        if fa[f]["meta"] != fb[f]["meta"]:
            print(f"  {f}: HELP/TYPE differ: {fa[f]['meta']} vs {fb[f]['meta']}")
        ka = [k for k, _ in fa[f]["series"]]
        kb = [k for k, _ in fb[f]["series"]]
        if ka != kb:
            print(f"  {f}: series differ ({len(ka)} vs {len(kb)})")
            continue
        for (k, va), (_, vb) in zip(fa[f]["series"], fb[f]["series"]):
            if va == vb:
                continue
            if float(va) == float(vb) or VOLATILE.match(f):
                spelled += 1
                if spelled <= 3 and float(va) == float(vb):
                    print(f"  same value, other spelling: {k} {va!r} vs {vb!r}")
            else:
                differ += 1
                print(f"  value differs: {k} {va} vs {vb}")
    print(f"lines spelled differently (timings, or the same value): {spelled}; other values "
          f"that differ: {differ}")


def main():
    bins = sys.argv[1:]
    if not bins or len(bins) > 2:
        raise SystemExit(__doc__)
    bodies = [run(b) for b in bins]
    if len(bodies) == 2:
        compare(*bodies)


if __name__ == "__main__":
    main()
