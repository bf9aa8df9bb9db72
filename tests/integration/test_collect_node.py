# SPDX-License-Identifier: MIT
"""The host collector against the real node_exporter (docs/collectors.md, Host): Debian's
prometheus-node-exporter 1.5.0 on a free loopback port with the same collectors (cpu,
diskstats, filefd, filesystem, loadavg, meminfo, netdev, pressure, stat, time, uname,
vmstat) and a gateway whose host collector is on (its default), on the same machine at
the same time. For every family tailguard's /metrics/node prints:

- node_exporter prints it too, with the same type and help text, and the same label
  names; the families node_exporter prints and tailguard does not are exactly MISSING;
- the same series (label values: cpus and modes, devices, mount points, collectors);
- gauges: EXACT ones equal, the others within a relative tolerance of 5 % or an absolute
  allowance per family (GAUGE_SLACK: the figures move between two scrapes on a machine
  other tests share);
- counters: scraped twice 2.5 s apart, the same rate over the window (within 25 % or an
  absolute allowance per family, COUNTER_SLACK), and the same level (the two differ by
  no more than what either moved in the window, plus the allowance);
- `promtool check metrics` finds nothing on /metrics/node but node_exporter's own
  known exception: camelCase node_memory_* names.

Deliberate differences (also in docs/collectors.md): TYPE_DIFFS (vmstat's fields are
untyped in node_exporter, gauges here: the exposition has no untyped type) and MISSING.
"""
import re
import shutil
import subprocess
import time

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"
COLLECTORS = ["cpu", "diskstats", "filefd", "filesystem", "loadavg", "meminfo", "netdev",
              "pressure", "stat", "time", "uname", "vmstat"]

# node_exporter families with no counterpart here, and why:
MISSING = {
    "node_disk_info": "udev's device properties (/run/udev/data), outside procfs",
    "node_network_receive_nohandler_total": "netlink only; /proc/net/dev has no such column",
    "node_time_zone_offset_seconds": "the zone of the process, not of the host",
    "node_time_clocksource_available_info": "sysfs clocksource, not in the runbooks",
    "node_time_clocksource_current_info": "sysfs clocksource, not in the runbooks",
    "node_exporter_build_info": "node_exporter's own build",
}
# Families whose TYPE differs: (ours, node_exporter's).
TYPE_DIFFS = {"node_vmstat_": ("gauge", "untyped")}

EXACT = {
    "node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes", "node_memory_HugePages_Total",
    "node_memory_Hugepagesize_bytes", "node_memory_VmallocTotal_bytes",
    "node_boot_time_seconds", "node_filefd_maximum", "node_filesystem_size_bytes",
    "node_filesystem_files", "node_filesystem_readonly", "node_filesystem_device_error",
    "node_uname_info", "node_scrape_collector_success",
}
MIB = 1 << 20
# Absolute allowances for gauges that move (beside the relative 5 %).
GAUGE_SLACK = {
    "node_memory_": 256 * MIB, "node_load": 1.5, "node_procs_": 8, "node_filefd_allocated": 500,
    "node_filesystem_": 512 * MIB, "node_filesystem_files_free": 20000,
    "node_time_seconds": 5, "node_disk_io_now": 16, "node_vmstat_": 10000,
    "node_scrape_collector_duration_seconds": 0.5, "node_cpu": 0.5,
}
# Absolute allowances per second for counter rates (beside the relative 25 %).
COUNTER_SLACK = {
    "node_cpu_seconds_total": 0.3, "node_cpu_guest_seconds_total": 0.05,
    "node_context_switches_total": 5000, "node_intr_total": 5000, "node_forks_total": 100,
    "node_disk_": 20 * MIB, "node_disk_read_time": 2, "node_disk_write_time": 2,
    "node_disk_io_time": 1, "node_disk_discard": 1000,
    "node_network_": 512 * 1024, "node_pressure_": 0.5,
}
WINDOW_S = 2.5


def slack(table, name, default):
    best = None
    for prefix, v in table.items():
        if name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, v)
    return best[1] if best else default


_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse(text):
    """Prometheus text format 0.0.4 -> {family: {"type", "help", "series": {labels: value}}}
    where labels is a sorted tuple of (name, value)."""
    fams = {}

    def fam(name):
        return fams.setdefault(name, {"type": "untyped", "help": None, "series": {}})

    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            fam(name)["help"] = help_
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            fam(name)["type"] = typ
        elif line and not line.startswith("#"):
            if "{" in line:
                name, rest = line.split("{", 1)
                body, _, value = rest.rpartition("}")
                labels = []
                pos = 0
                while pos < len(body):
                    m = _LABEL.match(body, pos)
                    assert m, f"bad labels in {line!r}"
                    labels.append((m.group(1), m.group(2)))
                    pos = m.end()
            else:
                name, _, value = line.partition(" ")
                labels = []
            fam(name)["series"][tuple(sorted(labels))] = float(value.strip().split()[0])
    return fams


def scrape(url):
    st, _, body = http("GET", url, timeout=10)
    assert st == 200, (url, st, body[:200])
    return parse(body.decode()), time.monotonic()


def ours_only(fams):
    return {n: f for n, f in fams.items() if n.startswith("node_")}


def start_pair():
    port = free_port()
    args = ["prometheus-node-exporter", f"--web.listen-address={HOST}:{port}",
            "--collector.disable-defaults"] + [f"--collector.{c}" for c in COLLECTORS]
    from peers import exporter
    ne = exporter(args, port, name="node_exporter")
    gw = gateway(free_port(), free_port(), [free_port()])
    return ne, port, gw


def admin_url(gw):
    i = gw.args.index("--admin")
    return f"http://{gw.args[i + 1]}"


def check_counter(name, key, a0, a1, ta, b0, b1, tb, errors):
    ra, rb = (a1 - a0) / ta, (b1 - b0) / tb
    allow = slack(COUNTER_SLACK, name, 1.0)
    if abs(ra - rb) > max(0.25 * max(abs(ra), abs(rb)), allow):
        errors.append(f"{name}{dict(key)}: rate {ra:.6g}/s here, {rb:.6g}/s node_exporter")
    if abs(a0 - b0) > max(abs(a1 - a0), abs(b1 - b0)) + allow * WINDOW_S:
        errors.append(f"{name}{dict(key)}: level {a0:.9g} here, {b0:.9g} node_exporter")


def check_gauge(name, key, a, b, errors):
    if name in EXACT:
        if a != b:
            errors.append(f"{name}{dict(key)}: {a!r} here, {b!r} node_exporter (exact)")
        return
    allow = slack(GAUGE_SLACK, name, 0)
    if abs(a - b) > max(0.05 * max(abs(a), abs(b)), allow):
        errors.append(f"{name}{dict(key)}: {a!r} here, {b!r} node_exporter")


def test_same_families_series_and_values():
    ne, port, gw = start_pair()
    with ne, gw:
        ours_url = admin_url(gw) + "/metrics/node"
        theirs_url = f"http://{HOST}:{port}/metrics"
        # The filesystem figures come from the statfs thread's last pass; the first
        # pass starts with the target and may finish after the first request.
        wait_until(lambda: b"node_filesystem_size_bytes{" in http("GET", ours_url)[2],
                   timeout=10, what="the statfs thread's first pass")
        # Interleaved, so the two see the same moment as nearly as possible.
        a0, ta0 = scrape(ours_url)
        b0, tb0 = scrape(theirs_url)
        time.sleep(WINDOW_S)
        a1, ta1 = scrape(ours_url)
        b1, tb1 = scrape(theirs_url)
        a0, a1 = ours_only(a0), ours_only(a1)
        b0 = {n: f for n, f in b0.items() if n.startswith("node_")}
        b1 = {n: f for n, f in b1.items() if n.startswith("node_")}

        errors = []
        assert len(a0) > 80, sorted(a0)
        missing = sorted(set(b0) - set(a0))
        extra = sorted(set(a0) - set(b0))
        assert extra == [], f"families node_exporter does not have: {extra}"
        assert set(missing) <= set(MISSING), f"families not produced: {missing}"
        for name, fa in sorted(a0.items()):
            fb = b0[name]
            want = (fa["type"], fb["type"])
            diff = next((v for p, v in TYPE_DIFFS.items() if name.startswith(p)), None)
            if want[0] != want[1] and want != diff:
                errors.append(f"{name}: type {want[0]} here, {want[1]} node_exporter")
            if fa["help"] != fb["help"]:
                errors.append(f"{name}: help {fa['help']!r} here, {fb['help']!r} node_exporter")
            names_a = {tuple(n for n, _ in k) for k in fa["series"]}
            names_b = {tuple(n for n, _ in k) for k in fb["series"]}
            if names_a != names_b:
                errors.append(f"{name}: labels {names_a} here, {names_b} node_exporter")
            if set(fa["series"]) != set(fb["series"]):
                only_a = set(fa["series"]) - set(fb["series"])
                only_b = set(fb["series"]) - set(fa["series"])
                errors.append(f"{name}: series only here {sorted(only_a)[:5]}, "
                              f"only in node_exporter {sorted(only_b)[:5]}")
                continue
            for key, va in fa["series"].items():
                vb = fb["series"][key]
                if fa["type"] == "counter":
                    check_counter(name, key, va, a1[name]["series"].get(key, va), ta1 - ta0,
                                  vb, b1[name]["series"].get(key, vb), tb1 - tb0, errors)
                else:
                    check_gauge(name, key, va, vb, errors)
        assert not errors, "\n".join(errors)

        # The families the runbooks query are there, with the labels they use.
        for name in ["node_cpu_seconds_total", "node_memory_MemAvailable_bytes",
                     "node_memory_MemTotal_bytes", "node_disk_io_time_seconds_total",
                     "node_network_receive_bytes_total", "node_filesystem_avail_bytes"]:
            assert a0.get(name, {}).get("series"), name
        modes = {dict(k)["mode"] for k in a0["node_cpu_seconds_total"]["series"]}
        assert modes == {"user", "nice", "system", "idle", "iowait", "irq", "softirq",
                         "steal"}, modes
        ok = {dict(k)["collector"]: v for k, v in
              a0["node_scrape_collector_success"]["series"].items()}
        assert sorted(ok) == COLLECTORS, ok


def test_promtool_lint():
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is needed"
    gw = gateway(free_port(), free_port(), [free_port()])
    with gw:
        url = admin_url(gw) + "/metrics/node"
        wait_until(lambda: b"node_filesystem_size_bytes{" in http("GET", url)[2], timeout=10,
                   what="the statfs thread's first pass")
        st, _, body = http("GET", url, timeout=10)
        assert st == 200
        r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                           timeout=30)
        lines = [l for l in (r.stdout + r.stderr).decode().splitlines() if l.strip()]
        assert lines, "promtool found no camelCase names: was node_memory_* printed?"
        for line in lines:
            assert re.match(r"^node_memory_\w+ metric names should be written in 'snake_case' "
                            r"not 'camelCase'$", line), line


if __name__ == "__main__":
    run_tests()
