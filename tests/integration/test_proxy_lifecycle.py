# SPDX-License-Identifier: MIT
"""Process lifecycle: SIGTERM drains (in-flight requests finish, new connections are
refused, exit 0), SIGHUP reloads without dropping a request, a broken file on reload
leaves the running configuration in place, and `check-config` reports errors with
file:line:column."""
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub


def test_sigterm_drains_in_flight_requests():
    port, admin = free_port(), free_port()
    with Stub() as s:
        g = gateway(port, admin, [s.addr()])
        with g:
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            c.sendall(b"GET /sleep/800 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)
            g.send_signal(signal.SIGTERM)
            # new connections are refused once the listeners are closed
            wait_until(lambda: _refused(port), timeout=3, what="listener closed")
            buf = b""
            while True:
                d = c.recv(4096)
                if not d:
                    break
                buf += d
            c.close()
            assert buf.startswith(b"HTTP/1.1 200") and buf.endswith(b"slept"), buf
            assert b"connection: close" in buf.lower(), buf
            assert g.wait_exit(10) == 0


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def _config(addr):
    return f"upstreams: [ {{ name: api, servers: [\"{addr}\"] }} ]\n"


def test_sighup_reload_drops_nothing():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b:
        f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        f.write(_config(a.addr()))
        f.close()
        try:
            with gateway(port, admin, [], config=f.name) as g:
                stop = threading.Event()
                results = []

                def client():
                    got = []
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                        while not stop.is_set():
                            c.sendall(b"GET /id HTTP/1.1\r\nHost: x\r\n\r\n")
                            buf = b""
                            while not (buf.endswith(b"\r\n\r\na") or buf.endswith(b"\r\n\r\nb")):
                                d = c.recv(4096)
                                if not d:
                                    got.append(b"closed")
                                    return got
                                buf += d
                            got.append(buf[-1:])
                    return got

                threads = [threading.Thread(target=lambda: results.append(client()))
                           for _ in range(4)]
                for t in threads:
                    t.start()
                for i in range(10):
                    time.sleep(0.15)
                    with open(f.name, "w") as w:
                        w.write(_config((b if i % 2 == 0 else a).addr()))
                    g.send_signal(signal.SIGHUP)
                time.sleep(0.3)
                stop.set()
                for t in threads:
                    t.join(10)
                flat = [x for r in results for x in r]
                assert len(results) == 4 and b"closed" not in flat, flat[-5:]
                assert flat.count(b"a") > 0 and flat.count(b"b") > 0, len(flat)
                # a broken file on reload: rejected, the running config stays
                with open(f.name, "w") as w:
                    w.write("upstreams: [ { name: api, servers: [] } ]\nbogus: 1\n")
                g.send_signal(signal.SIGHUP)
                wait_until(lambda: "reload-rejected" in g.log(), timeout=5, what="reject log")
                st, _, body = http("GET", f"http://127.0.0.1:{port}/id")
                assert st == 200 and body in (b"a", b"b")
        finally:
            os.unlink(f.name)


def test_check_config_reports_position():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("listen: \"127.0.0.1:8000\"\nupstreams:\n  - name: api\n    servers: [\"127.0.0.1:1\"]\n"
                "    health_check: { interval: 5x }\n")
    try:
        p = subprocess.run([BIN, "check-config", f.name], capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 1, p
        assert f"{f.name}:5:" in p.stderr and "health_check.interval" in p.stderr, p.stderr
        p = subprocess.run([BIN, "check-config", os.path.join(SRC, "examples", "tailguard.yaml")],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 0, p
        p = subprocess.run([BIN, "run", "--workers", "0"], capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 2 and "--workers" in p.stderr, p
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    run_tests()
