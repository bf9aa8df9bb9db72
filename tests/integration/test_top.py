# SPDX-License-Identifier: MIT
"""`tailguard top` in a real terminal: tmux (a server of the test's own, on a private
socket) runs it at 160x45 against a gateway in front of demo-api, with `tailguard bench`
sending a steady load over three endpoints, one of them made 800 ms slower by demo-api's
fault injection; keys go in with send-keys and the screen is read with capture-pane.
Checked, each with a bounded wait:

- the faulty endpoint is the first row (the table is sorted by p95, largest first);
- Enter on it lists its slow requests, slowest first, the first ones 800 ms or more
  (the list also holds its fast requests from before the fault: every request is traced);
- the sort key cycles to ENDPOINT (ascending: the named rows in name order), `r` reverses;
- a filter leaves only the matching rows (a substring, then a glob), Esc clears it;
- the screen changes from one refresh to the next, and while paused two captures 2.5 s
  apart are identical (the header shows the last update's time, no ticking clock);
- after a resize to 80x24 and to 20x5 every line fits and the table is still there;
- a hung gateway (SIGSTOP) shows "reconnecting: timeout" and keys are still answered at
  once; after SIGCONT it is connected again;
- the gateway stopped shows "reconnecting" with the error; started again on the same
  admin port, data flows again without a key;
- q exits with status 0 and leaves the terminal's alternate screen; so do Ctrl-C and
  SIGTERM;
- against a fake admin API answering badly (JSON cut short, a 503, a body over the
  limit) each is on the error line and top carries on.

tmux comes from Debian (scripts/install-deps.sh lists it); when it is missing the test
installs it as root, and fails saying so when it cannot. Every screen captured on the way
is printed when a check fails."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from tgtest import *

HOST = "127.0.0.1"
SLOW = "/api/v1/agents"
PATHS = ["/api/products", "/api/products/7", SLOW]
NAMED = ["/api/products", "/api/products/:id", SLOW]
RATE = scaled(30, 15)
CONFIG = """
tsdb: {scrape_interval: 1s}
tracing: {sample_rate: 1}
collectors: {host: {enabled: false}}
"""


def tmux_path():
    path = shutil.which("tmux")
    if not path and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "tmux"],
                       timeout=600, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        path = shutil.which("tmux")
    assert path, ("tmux is not installed and could not be installed "
                  "(run scripts/install-deps.sh as root)")
    return path


class Screen:
    """A tmux server of our own running `tailguard top --admin ADMIN --interval 1` in its
    one pane. Its socket (-S) is in a temporary folder of the test, so the server is ours
    alone and nothing is left behind in tmux's shared folder. The pane's shell waits for
    top, writes its exit status to a file, and stays, so the pane shows what top left on
    the terminal. (tmux's own record of a pane's exit status, remain-on-exit and
    pane_dead_status, missed some exits here: the process stayed a zombie.) The shell
    ignores SIGINT, as an interactive shell does while a command runs, so Ctrl-C reaches
    top alone; top sets its own handler."""

    def __init__(self, admin, x=160, y=45):
        self.dir = tempfile.mkdtemp(prefix="tg-top-tmux-")
        conf = os.path.join(self.dir, "tmux.conf")
        with open(conf, "w") as f:
            f.write("set -g default-shell /bin/sh\n")
        self.done = os.path.join(self.dir, "exit")
        self.base = [tmux_path(), "-S", os.path.join(self.dir, "socket"), "-f", conf]
        self.env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        self.shots = []
        self.run("new-session", "-d", "-x", str(x), "-y", str(y), "-s", "top",
                 f"trap '' INT; env LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} top --admin {admin} "
                 f"--interval 1; echo $? > {self.done}; exec sleep 600")

    def run(self, *args):
        r = subprocess.run(self.base + list(args), capture_output=True, text=True, timeout=10,
                           env=self.env)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    def keys(self, *keys):
        self.run("send-keys", "-t", "top", *keys)

    def capture(self):
        s = self.run("capture-pane", "-p", "-t", "top")
        self.shots.append(s)
        return s

    def wait(self, pred, timeout, what):
        """Captures until pred(screen) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.capture()
            v = pred(s)
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.1)

    def pid(self):
        """top's pid: the child of the pane's shell."""
        shell = self.run("display-message", "-p", "-t", "top", "#{pane_pid}").strip()
        for d in os.listdir("/proc"):
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == shell:
                return int(d)
        raise AssertionError("top's process not found")

    def exit_status(self, timeout=15):
        """Waits for top to exit; returns its exit status (as the shell's $?)."""
        def status():
            try:
                with open(self.done) as f:
                    return f.read().strip()
            except OSError:
                return None
        return int(wait_until(status, timeout=timeout, what="top to exit"))

    def resize(self, x, y):
        self.run("resize-window", "-t", "top", "-x", str(x), "-y", str(y))

    def close(self, failed):
        if failed:
            last = self.shots[-12:]
            print(f"---- the last {len(last)} of {len(self.shots)} screens captured ----")
            for s in last:
                print(s.rstrip("\n") + "\n" + "-" * 40)
        subprocess.run(self.base + ["kill-server"], capture_output=True, timeout=10,
                       env=self.env)
        shutil.rmtree(self.dir, ignore_errors=True)


def rows(screen):
    """The table's rows as lists of fields (ENDPOINT METHOD RPS P50 P95 P99 ERR% ACTIVE
    ...), from the heading line to the first blank line."""
    lines = screen.split("\n")
    for i, ln in enumerate(lines):
        if ln.startswith("ENDPOINT"):
            out = []
            for r in lines[i + 1:]:
                if not r.strip() or r.startswith("(") or r.startswith("sort "):
                    break
                out.append(r.split())
            return out
    return []


def names(screen):
    return [r[0] for r in rows(screen)]


def ms(text):
    """'842ms' or '1.25s' to milliseconds."""
    m = re.fullmatch(r"([0-9.]+)(ms|s)", text)
    assert m, text
    return float(m.group(1)) * (1 if m.group(2) == "ms" else 1000)


def header(screen):
    return screen.split("\n")[0]


def state(screen):
    """The footer's part before the keys: "sort P95 desc  filter x"."""
    lines = [ln for ln in screen.split("\n") if ln.strip()]
    return lines[-1].split("|")[0] if lines else ""


def traces(screen):
    """Durations (ms) of the slow-requests panel's rows."""
    out = []
    for ln in screen.split("\n"):
        m = re.match(r"\s+([0-9.]+)ms\s+(\d{3})\s", ln)
        if m:
            out.append(float(m.group(1)))
    return out


def stats_names(admin):
    url = f"http://{HOST}:{admin}/api/v1/monitoring/endpoints/stats?window=60s"
    st, _, v = http_json("GET", url)
    return {e["endpoint"]: e for e in v["endpoints"]} if st == 200 else {}


def start_load(port):
    urls = [f"http://{HOST}:{port}{p}" for p in PATHS]
    return Proc([BIN, "bench", "-R", str(RATE), "-d", "120s", "--max-duration", "130s", *urls],
                name="bench", expect_exit=None).start()


def test_top_in_tmux():
    api, port, admin = free_port(), free_port(), free_port()
    procs, scr, failed, hung, gw = [], None, True, False, None
    try:
        procs.append(demo_api(api))
        gw = gateway(port, admin, [api], config=CONFIG)
        procs.append(gw)
        load = start_load(port)
        procs.append(load)
        # The fault comes once every endpoint has its name (a path's first request counts
        # as `other`), so no `other` row carries the slow requests.
        wait_until(lambda: set(NAMED) <= set(stats_names(admin)), timeout=15,
                   what="the three endpoints named")
        st, _, _ = http_json("POST", f"http://{HOST}:{api}/_faults",
                             {"endpoint": SLOW, "latency_ms": 800})
        assert st == 200
        scr = Screen(f"http://{HOST}:{admin}")

        # The faulty endpoint on top, its p95 past the fault.
        first = scr.wait(lambda s: (rows(s) and rows(s)[0][0] == SLOW and "connected" in header(s)
                                    and ms(rows(s)[0][4]) >= 800 and rows(s)[0]),
                         timeout=30, what=f"{SLOW} as the first row")
        assert first[1] == "GET", first
        assert "P95v" in scr.capture(), "the sort column is marked"

        # Enter: its slow requests, each at least the injected 800 ms.
        scr.keys("Enter")
        s = scr.wait(lambda s: (f"Slow requests of GET {SLOW}" in s
                                and len([d for d in traces(s) if d >= 800]) >= 3 and s),
                     timeout=15, what="the slow requests of the first row")
        d = traces(s)
        assert d == sorted(d, reverse=True) and d[0] >= 800, d
        scr.keys("Escape")
        scr.wait(lambda s: rows(s) and rows(s)[0][0] == SLOW, timeout=10, what="the table again")

        # Sort: four presses from P95 (P99, ERR%, ACTIVE, ENDPOINT), then reversed.
        scr.keys("s", "s", "s", "s")
        s = scr.wait(lambda s: "sort ENDPOINT asc" in state(s) and s, timeout=10,
                     what="sort by name")
        got = names(s)
        assert got == sorted(got) and got[0] == "/api/products" and set(NAMED) <= set(got), got
        scr.keys("r")
        s = scr.wait(lambda s: "sort ENDPOINT desc" in state(s) and s, timeout=10, what="reversed")
        got = names(s)
        assert got == sorted(got, reverse=True) and set(NAMED) <= set(got), got

        # Filters: a substring, then a glob; Esc clears.
        scr.keys("/", "products", "Enter")
        s = scr.wait(lambda s: "filter products" in state(s) and s, timeout=10, what="the filter")
        assert sorted(names(s)) == ["/api/products", "/api/products/:id"], names(s)
        scr.keys("Escape", "/", "*AGENTS", "Enter")
        s = scr.wait(lambda s: "filter *AGENTS" in state(s) and s, timeout=10, what="the glob")
        assert names(s) == [SLOW], names(s)
        scr.keys("Escape")
        s = scr.wait(lambda s: "filter" not in state(s) and len(names(s)) >= 3 and s,
                     timeout=10, what="the filter cleared")

        # Pause: the screen moves while running, not while paused.
        a = scr.capture()
        scr.wait(lambda s: s != a, timeout=10, what="a refresh changing the screen")
        scr.keys("p")
        p1 = scr.wait(lambda s: "PAUSED" in header(s) and s, timeout=10, what="PAUSED")
        time.sleep(2.5)  # over two refresh intervals
        p2 = scr.capture()
        assert p1 == p2, "the screen changed while paused"
        scr.keys("p")
        scr.wait(lambda s: "PAUSED" not in header(s) and s != p2, timeout=10,
                 what="the refresh resumed")

        # Resizes: every line fits; the table is still there.
        for (x, y) in ((80, 24), (20, 5), (160, 45)):
            scr.resize(x, y)
            s = scr.wait(lambda s: (len(s.rstrip("\n").split("\n")) <= y
                                    and all(len(ln) <= x for ln in s.split("\n"))
                                    and "ENDPOINT" in s and rows(s) and s),
                         timeout=10, what=f"a sane screen at {x}x{y}")
            assert "connected" in header(s)[:12], header(s)
        scr.wait(lambda s: set(NAMED) <= set(names(s)), timeout=10, what="all rows at 160x45")

        # A hung gateway (stopped: it accepts connections and never answers): each round
        # ends at its 2 s deadline as "reconnecting", and keys are answered meanwhile.
        gw.send_signal(signal.SIGSTOP)
        hung = True
        scr.wait(lambda s: "reconnecting: timeout" in s, timeout=15, what="the timeout shown")
        for _ in range(3):
            before = state(scr.capture())
            t0 = time.monotonic()
            scr.keys("s")
            scr.wait(lambda s: state(s) != before, timeout=5, what="the sort key answered")
            took = time.monotonic() - t0
            print(f"key answered in {took * 1000:.0f} ms (capture polls every 100 ms) "
                  "while the gateway hung", flush=True)
            assert took < 1.0, f"a key took {took:.2f}s while the gateway hung"
            time.sleep(0.3)
        gw.send_signal(signal.SIGCONT)
        hung = False
        scr.wait(lambda s: header(s).startswith("connected") and "(stale)" not in header(s),
                 timeout=15, what="connected after the hang")

        # The gateway goes away: reconnecting, with the error, the old rows kept.
        load.stop()
        gw.stop()
        s = scr.wait(lambda s: "reconnecting" in s and "refused" in s and s, timeout=15,
                     what="the reconnecting state")
        assert "(stale)" in header(s) and SLOW in names(s), s
        # ... and comes back on the same admin port: data again, no key pressed.
        gw = gateway(port, admin, [api], config=CONFIG)
        procs.append(gw)
        procs.append(start_load(port))
        s = scr.wait(lambda s: (header(s).startswith("connected") and "(stale)" not in header(s)
                                and "reconnecting" not in s and SLOW in names(s) and s),
                     timeout=30, what="data flowing again after the restart")

        # q: exit status 0, the terminal's normal screen back.
        scr.keys("q")
        code = scr.exit_status()
        assert code == 0, f"tailguard top exited with {code}"
        scr.wait(lambda s: "ENDPOINT" not in s, timeout=5, what="the normal screen back")
        failed = False
    finally:
        if hung:
            gw.send_signal(signal.SIGCONT)
        if scr:
            scr.close(failed)
        for p in reversed(procs):
            p.stop()
            p._cleanup()


class FakeAdmin:
    """An admin API on loopback that answers badly: endpoints/stats cut short, alerts 503,
    query_range announcing a body over top's limit, the rest well."""

    def __init__(self):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, status, body, length=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/api/v1/monitoring/endpoints/stats"):
                    self.answer(200, b'{"window_s":60,"endpoints":[{"endpoint":"/a","meth')
                elif self.path.startswith("/api/v1/alerts"):
                    self.answer(503, b'{"error":"rules not loaded","field":null}')
                elif self.path.startswith("/api/v1/incidents"):
                    self.answer(200, b'{"incidents":[]}')
                else:
                    self.answer(200, b'{"active":0,"by_endpoint":{}}')

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.answer(200, b"", length=64 * 1024 * 1024)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_bad_answers_are_error_lines():
    fake, scr, failed = FakeAdmin(), None, True
    try:
        scr = Screen(f"http://{HOST}:{fake.port}")
        s = scr.wait(lambda s: ("endpoints/stats: bad JSON" in s and "alerts: HTTP 503" in s
                                and "query_range: too_big" in s and s),
                     timeout=15, what="the three errors on the error line")
        assert header(s).startswith("connected") and "ENDPOINT" in s, s
        scr.keys("q")
        assert scr.exit_status() == 0
        failed = False
    finally:
        if scr:
            scr.close(failed)
        fake.close()


def test_signals_restore_the_terminal():
    """Ctrl-C (SIGINT from the terminal) and SIGTERM end top with status 0 and the
    terminal's normal screen back; nothing listens on the admin port meanwhile."""
    for how in ("C-c", "TERM"):
        scr, failed = None, True
        try:
            scr = Screen(f"http://{HOST}:{free_port()}")
            scr.wait(lambda s: "reconnecting: connect" in s, timeout=15, what="reconnecting")
            if how == "C-c":
                scr.keys("C-c")
            else:
                os.kill(scr.pid(), signal.SIGTERM)
            assert scr.exit_status() == 0, how
            scr.wait(lambda s: "reconnecting" not in s and "ENDPOINT" not in s, timeout=5,
                     what=f"the normal screen back after {how}")
            failed = False
        finally:
            if scr:
                scr.close(failed)


def test_bad_usage():
    """Options are checked before the terminal is touched."""
    for args, want in ((["--interval", "0"], "--interval"), (["--admin", "https://x"], "https"),
                       (["extra"], "usage")):
        r = subprocess.run([BIN, "top", *args], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and want in r.stderr, (args, r)
    r = subprocess.run([BIN, "top", "--admin", f"{HOST}:{free_port()}"], capture_output=True,
                       text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "needs a terminal" in r.stderr, r


if __name__ == "__main__":
    run_tests()
