# SPDX-License-Identifier: MIT
"""tgtest: the integration-test harness of tailguard (python3 standard library only).

Every integration test script does ``from tgtest import *`` (the script's own folder is on
sys.path when it runs), defines functions named ``test_*`` and ends with
``if __name__ == "__main__": run_tests()``. ctest runs each script with ``TG_BIN`` (the
binary under test) and ``TG_SRC`` (the repository root) set; ``TG_SANITIZED=1`` is set under
ASan/UBSan, where everything is several times slower, so load should be scaled down with
``scaled()``.

Rules every helper follows, so a broken binary fails a test instead of hanging the suite:
everything binds to 127.0.0.1, every wait has a timeout, and every started process is
stopped (SIGTERM, then SIGKILL) when its ``with`` block ends, with the tail of its log
printed if the block failed.

Quick reference (details in each docstring):

    BIN, SRC, SANITIZED                  paths and flags from the environment
    scaled(n, sanitized=None)            n, or a smaller n under sanitizers
    free_port()                          an unused TCP port on 127.0.0.1
    Proc(args, name=None, env=None, expect_exit=(0,), stop_timeout=10)
        .start() .wait_port(port) .wait_http(url) .alive() .pid .log() .log_tail(n)
        .send_signal(sig) .stop() -> exit code .wait_exit(timeout) .returncode
        a context manager: stops the process on exit, prints its log if the block failed
    demo_api(port, *args, workers=None, latency_scale=None, env=None) -> started Proc
    gateway(port, admin_port, upstreams, *args, config=None, env=None, wait=True)
                                         -> started Proc (with a store of its own)
    http(method, url, body=None, headers=None, timeout=5) -> (status, headers, body)
    http_json(method, url, obj=None, headers=None, timeout=5) -> (status, headers, value)
    raw(port, data, timeout=5, shutdown_write=False, gap=0) -> bytes read until close/timeout
    parse_responses(data) -> [(status, headers, body), ...] from raw response bytes
    wait_until(fn, timeout=10, interval=0.05, what="condition") -> fn's truthy result
    parallel(fns, timeout=30) -> results of calling each fn in its own thread
    run_tests()                          runs the test_* functions of __main__
"""

import http.client as _httpclient
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

__all__ = [
    "BIN", "SRC", "SANITIZED", "scaled", "free_port", "Proc", "demo_api", "gateway",
    "http", "http_json", "raw", "parse_responses", "wait_until", "parallel", "run_tests",
    "TestTimeout",
]

HOST = "127.0.0.1"

#: Repository root: $TG_SRC, else two folders above this file.
SRC = os.environ.get("TG_SRC") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The tailguard binary: $TG_BIN, else build/tailguard under the repository root.
BIN = os.environ.get("TG_BIN") or os.path.join(SRC, "build", "tailguard")
#: True when the binary is built with sanitizers (TG_SANITIZED=1): scale load down.
SANITIZED = os.environ.get("TG_SANITIZED") == "1"


def scaled(n, sanitized=None):
    """Returns `n`, or under sanitizers `sanitized` (default: n // 5, at least 1)."""
    if not SANITIZED:
        return n
    if sanitized is not None:
        return sanitized
    return max(1, n // 5)


_given_ports = set()


def free_port():
    """Returns a TCP port on 127.0.0.1 that is free now and not handed out before by this
    process. Ports come from 20000-32767, below Linux's ephemeral range (32768-60999), so
    sockets that bind port 0 (stubs, outgoing connections) can never take a port a test
    is about to give a server; random choice keeps parallel scripts apart. The window
    between this call and the server's bind is unavoidable."""
    rng = random.Random(os.getpid() ^ int(time.monotonic() * 1e6))
    for _ in range(200):
        port = rng.randrange(20000, 32768)
        if port in _given_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        _given_ports.add(port)
        return port
    raise RuntimeError("free_port: no free port after 200 tries")


class Proc:
    """A child process whose stdout and stderr go to a temporary log file.

    Use as a context manager::

        with Proc([BIN, "demo-api", "--listen", f"127.0.0.1:{port}"]) as p:
            p.wait_port(port)
            ...

    On leaving the block it is stopped: SIGTERM, up to `stop_timeout` seconds, then
    SIGKILL. If the block raised, or the exit code is not in `expect_exit` (None accepts
    any), the last lines of its log are printed to stderr; an unexpected exit code raises
    AssertionError (so an ASan report at exit fails the test). `returncode` holds the code
    after stop() (negative: killed by that signal)."""

    def __init__(self, args, name=None, env=None, cwd=None, expect_exit=(0,), stop_timeout=10):
        self.args = [str(a) for a in args]
        self.name = name or os.path.basename(self.args[0])
        self.env = dict(os.environ, **(env or {}))
        self.cwd = cwd
        self.expect_exit = expect_exit
        self.stop_timeout = stop_timeout
        self.popen = None
        self.returncode = None
        self._log = None
        self.tmpfiles = []  # removed with the log when the Proc is done

    # -- life cycle --------------------------------------------------------------------
    def start(self):
        """Starts the process (once). Returns self."""
        if self.popen:
            return self
        self._log = tempfile.NamedTemporaryFile(prefix=f"tg-{self.name}-", suffix=".log",
                                                delete=False)
        self.popen = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd)
        return self

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        """True while the process runs."""
        return self.popen is not None and self.popen.poll() is None

    def send_signal(self, sig):
        """Sends `sig` if the process still runs."""
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self, timeout=None):
        """SIGTERM, wait up to `timeout` (default stop_timeout) seconds, then SIGKILL.
        Returns the exit code (negative: the signal that ended it). Idempotent."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout if timeout is not None else self.stop_timeout)
            except subprocess.TimeoutExpired:
                sys.stderr.write(f"[{self.name}] did not exit after SIGTERM; sending SIGKILL\n")
                self.popen.kill()
                self.popen.wait(10)
        self.returncode = self.popen.returncode
        return self.returncode

    def wait_exit(self, timeout=10):
        """Waits for the process to exit by itself; returns its code (raises on timeout)."""
        try:
            self.returncode = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout}s") from None
        return self.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        code = self.stop()
        bad_exit = self.expect_exit is not None and code not in self.expect_exit
        if exc_type is not None or bad_exit:
            self.print_log_tail()
        if bad_exit and exc_type is None:
            raise AssertionError(f"{self.name} exited with {code}, expected {self.expect_exit}")
        self._cleanup()
        return False

    def _cleanup(self):
        paths = list(self.tmpfiles)
        if self._log:
            self._log.close()
            paths.append(self._log.name)
            self._log = None
        for path in paths:
            try:
                os.unlink(path)
            except OSError:
                pass
        self.tmpfiles = []

    # -- logs --------------------------------------------------------------------------
    def log(self):
        """Everything the process wrote so far (stdout and stderr interleaved)."""
        if not self._log:
            return ""
        self._log.flush()
        with open(self._log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def print_log_tail(self, n=40):
        sys.stderr.write(f"---- last {n} log lines of {self.name} (pid "
                         f"{self.popen.pid if self.popen else '-'}, exit "
                         f"{self.returncode}) ----\n{self.log_tail(n)}\n---- end of log ----\n")

    # -- readiness ---------------------------------------------------------------------
    def _check_alive(self, what):
        if not self.alive():
            raise AssertionError(f"{self.name} exited with {self.popen.returncode} "
                                 f"while waiting for {what}")

    def wait_port(self, port, timeout=10, host=HOST):
        """Waits until `host:port` accepts a TCP connection. Raises AssertionError on
        timeout or if the process exits first. Returns self."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive(f"port {port}")
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: port {port} not open after {timeout}s")
            time.sleep(0.02)

    def wait_http(self, url, status=200, timeout=10):
        """Waits until GET `url` answers `status`. Returns self."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            self._check_alive(url)
            try:
                last = http("GET", url, timeout=1)[0]
                if last == status:
                    return self
            except OSError as e:
                last = e
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {url} gave {last!r}, not {status}, "
                                     f"after {timeout}s")
            time.sleep(0.02)


def demo_api(port, *args, workers=None, latency_scale=None, env=None):
    """Starts `tailguard demo-api` on 127.0.0.1:`port` with extra `args` and waits for
    /health. Returns the started Proc; use it in a `with` block."""
    argv = [BIN, "demo-api", "--listen", f"{HOST}:{port}"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    if latency_scale is not None:
        argv += ["--latency-scale", str(latency_scale)]
    p = Proc(argv + list(args), name=f"demo-api:{port}", env=env).start()
    try:
        p.wait_http(f"http://{HOST}:{port}/health")
    except BaseException:
        p.stop()
        p.print_log_tail()
        p._cleanup()
        raise
    return p


def gateway(port, admin_port, upstreams, *args, config=None, env=None, wait=True):
    """Starts `tailguard run --listen 127.0.0.1:port --admin 127.0.0.1:admin_port
    --upstream U ...` plus `args`. `upstreams` is a list of "host:port" strings (or ports).
    `config`, if given, is YAML text written to a temporary file passed as `-c FILE` (or a
    path to an existing file). With `wait`, waits until both ports accept connections.
    Returns the started Proc."""
    argv = [BIN, "run", "--listen", f"{HOST}:{port}", "--admin", f"{HOST}:{admin_port}"]
    for u in upstreams:
        argv += ["--upstream", f"{HOST}:{u}" if isinstance(u, int) else str(u)]
    cfg_path = None
    tmp = None
    if config is not None:
        if os.path.exists(config):
            cfg_path = config
        else:
            f = tempfile.NamedTemporaryFile("w", prefix="tg-config-", suffix=".yaml",
                                            delete=False)
            f.write(config)
            f.close()
            cfg_path = tmp = f.name
        argv += ["-c", cfg_path]
    # Each gateway gets a store of its own, so control-API changes made by one test never
    # reach another; a test of persistence passes the same --store to both runs.
    store = None
    if "--store" not in args:
        fd, store = tempfile.mkstemp(prefix="tg-store-", suffix=".db")
        os.close(fd)
        os.unlink(store)
        argv += ["--store", store]
    # Likewise the time-series store: kept in memory unless a test passes --tsdb, so that
    # gateways started from configuration files in one directory never share its file.
    if "--tsdb" not in args:
        argv += ["--tsdb", ":memory:"]
    p = Proc(argv + list(args), name=f"gateway:{port}", env=env)
    if tmp:
        p.tmpfiles.append(tmp)
    if store:
        p.tmpfiles += [store, store + "-wal", store + "-shm"]
    p.start()
    p.config_path = cfg_path
    if wait:
        try:
            p.wait_port(port)
            p.wait_port(admin_port)
        except BaseException:
            p.stop()
            p.print_log_tail()
            p._cleanup()
            raise
    return p


def _split_url(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http":
        raise ValueError(f"only http:// URLs are supported: {url}")
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    return u.hostname, u.port or 80, path


def http(method, url, body=None, headers=None, timeout=5):
    """One HTTP/1.1 request on a fresh connection (http.client).

    `body`: bytes, str (UTF-8), or a dict/list sent as JSON (with Content-Type set).
    Returns (status, headers, body): `headers` is an http.client.HTTPMessage (case-
    insensitive .get(name), .get_all(name)), `body` is bytes. Raises OSError (including
    socket.timeout) on connection failures or when `timeout` seconds pass idle."""
    host, port, path = _split_url(url)
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    conn = _httpclient.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.msg, data
    finally:
        conn.close()


def http_json(method, url, obj=None, headers=None, timeout=5):
    """Like http() but sends `obj` as JSON (if not None) and returns (status, headers,
    parsed JSON or None if the body is not JSON)."""
    status, hdrs, data = http(method, url, body=obj, headers=headers, timeout=timeout)
    try:
        value = json.loads(data) if data else None
    except ValueError:
        value = None
    return status, hdrs, value


def raw(port, data, timeout=5, shutdown_write=False, gap=0.0, host=HOST):
    """Sends `data` on a new TCP connection and returns every byte read until the peer
    closes or `timeout` seconds have passed in total. `data` is bytes, or a list of bytes
    pieces sent with `gap` seconds between them (to test incremental parsing). With
    `shutdown_write`, half-closes after sending (the server sees EOF)."""
    deadline = time.monotonic() + timeout
    out = bytearray()
    pieces = [data] if isinstance(data, (bytes, bytearray)) else list(data)
    with socket.create_connection((host, port), timeout=timeout) as s:
        for i, piece in enumerate(pieces):
            if i and gap:
                time.sleep(gap)
            s.sendall(piece)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    return bytes(out)


def _read_chunked(data, pos):
    """Decodes a chunked body starting at `pos`; returns (body, position after it)."""
    body = bytearray()
    while True:
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            while True:  # trailer fields, up to the empty line
                eol = data.index(b"\r\n", pos)
                if eol == pos:
                    return bytes(body), pos + 2
                pos = eol + 2
        if pos + size + 2 > len(data) or data[pos + size:pos + size + 2] != b"\r\n":
            raise ValueError("truncated or malformed chunk")
        body += data[pos:pos + size]
        pos += size + 2


def parse_responses(data, head_requests=()):
    """Splits raw HTTP/1.x response bytes into [(status, headers, body)], in order.
    `headers` is a dict with lowercase names. Bodies are framed by Content-Length or
    chunked coding, else they run to the end. Indexes listed in `head_requests` are
    answers to HEAD (no body). Raises ValueError on a truncated response."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            raise ValueError(f"truncated response head at byte {pos}")
        lines = data[pos:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        pos = end + 4
        if 100 <= status < 200:
            continue
        if len(out) in head_requests or status in (204, 304):
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body, pos = _read_chunked(data, pos)
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if pos + n > len(data):
                raise ValueError("truncated response body")
            body, pos = data[pos:pos + n], pos + n
        else:
            body, pos = data[pos:], len(data)
        out.append((status, headers, body))
    return out


def wait_until(fn, timeout=10, interval=0.05, what="condition"):
    """Calls `fn` until it returns something truthy (returned) or `timeout` seconds pass
    (AssertionError naming `what`). Exceptions from `fn` count as falsy until the end."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried, reported at the end
            last_exc = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                                 + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


def parallel(fns, timeout=30):
    """Calls each function of `fns` in its own thread, all started together, and returns
    their results in order. An exception in one is re-raised here; a thread still running
    after `timeout` seconds raises AssertionError."""
    results = [None] * len(fns)
    errors = [None] * len(fns)
    barrier = threading.Barrier(len(fns)) if fns else None

    def run(i, fn):
        try:
            barrier.wait(timeout)
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            errors[i] = e

    threads = [threading.Thread(target=run, args=(i, f), daemon=True) for i, f in enumerate(fns)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
        if t.is_alive():
            raise AssertionError(f"parallel: a call still running after {timeout}s")
    for e in errors:
        if e is not None:
            raise e
    return results


class TestTimeout(Exception):
    """Raised inside a test that ran longer than its time limit."""


def _on_alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit (TG_TEST_TIMEOUT)")


def run_tests(namespace=None, argv=None):
    """Runs every function named test_* in `namespace` (default: the __main__ module's
    globals) in definition order, or only those named on the command line. Prints PASS or
    FAIL (with the traceback) for each, then "N passed, M failed" as the last line, and
    exits 1 if any failed (or none ran). Each test is limited to $TG_TEST_TIMEOUT seconds
    (default 180) by SIGALRM."""
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    argv = sys.argv[1:] if argv is None else argv
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    if argv:
        unknown = set(argv) - {n for n, _ in tests}
        if unknown:
            print(f"unknown tests: {', '.join(sorted(unknown))}")
            print("0 passed, 1 failed")
            sys.exit(1)
        tests = [(n, f) for n, f in tests if n in argv]
    limit = int(os.environ.get("TG_TEST_TIMEOUT", "180"))
    old = signal.signal(signal.SIGALRM, _on_alarm)
    passed = failed = 0
    print(f"binary: {BIN}{' (sanitized)' if SANITIZED else ''}", flush=True)
    for name, fn in tests:
        t0 = time.monotonic()
        signal.alarm(limit)
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - every failure is reported the same way
            signal.alarm(0)
            if isinstance(e, KeyboardInterrupt):
                raise
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - t0:.2f}s)", flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
        else:
            signal.alarm(0)
            passed += 1
            print(f"PASS {name} ({time.monotonic() - t0:.2f}s)", flush=True)
    signal.signal(signal.SIGALRM, old)
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed or not passed else 0)
