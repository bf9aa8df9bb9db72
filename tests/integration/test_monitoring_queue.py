# SPDX-License-Identifier: MIT
"""`queue_depth` of /api/v1/monitoring/threads and `tailguard_accept_queue_depth` of
/metrics: the connections waiting in each worker's listen queue, which is the rx_queue
that /proc/net/tcp shows for a listening socket.

To fill the queue deterministically, the only worker is stalled the way a real worker can
be: its access log is a FIFO nobody reads, so once the pipe is full the worker blocks in
write() (seen in /proc/PID/task/TID/syscall) and stops accepting, while the kernel keeps
completing handshakes into the queue. Reading the FIFO releases it, and the queue
empties.
"""
import os
import select
import socket
import tempfile
import threading
import time

import http.client as httpclient

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"
PROBES = 5


def listen_rx_queue(port):
    """rx_queue of the listening sockets on 127.0.0.1:`port` in /proc/net/tcp."""
    total, found = 0, False
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if state == "0A" and local == f"0100007F:{port:04X}":
                total += int(queues.split(":")[1], 16)
                found = True
    assert found, f"no listening socket on port {port} in /proc/net/tcp"
    return total


def threads(admin):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/threads")
    assert st == 200, (st, v)
    return v


def gauge(admin, worker):
    st, _, body = http("GET", f"http://{HOST}:{admin}/metrics")
    assert st == 200
    want = f'tailguard_accept_queue_depth{{worker="{worker}"}} '
    for line in body.decode().splitlines():
        if line.startswith(want):
            return float(line[len(want):])
    raise AssertionError(f"{want!r} not in /metrics")


def blocked_in_write(pid, path):
    """True when a thread of process `pid` is inside write() on its fd for `path` (from
    /proc/PID/task/TID/syscall: the syscall number, 1 on x86-64, then the fd in hex)."""
    fds = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                fds.add(fd)
        except OSError:
            pass
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                fields = f.read().split()
        except OSError:
            continue
        if len(fields) > 1 and fields[0] == "1" and str(int(fields[1], 16)) in fds:
            return True
    return False


def stall_worker(gw, port, fifo):
    """Sends requests on one connection until the worker, with the access log pipe full,
    blocks writing to it (found there twice 0.1 s apart; nothing reads the pipe, so it
    stays there). Returns the connection (already accepted) to close."""
    conn = httpclient.HTTPConnection(HOST, port, timeout=2)
    for _ in range(20000):
        try:
            conn.request("GET", "/fill")
            conn.getresponse().read()
        except socket.timeout:
            break  # blocked in a flush on the request path
        if blocked_in_write(gw.pid, fifo):
            break
    wait_until(lambda: blocked_in_write(gw.pid, fifo), timeout=10,
               what="the worker blocked writing its access log")
    time.sleep(0.1)
    assert blocked_in_write(gw.pid, fifo)
    return conn


def drain_fifo(fd, stop):
    while not stop.is_set():
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                if not os.read(fd, 65536):
                    time.sleep(0.05)
            except BlockingIOError:
                pass


def check_queue(gw, port, admin, fifo, drainer, probes):
    # Idle (once the worker has taken the harness's readiness probe): nothing waits, and
    # the kernel agrees.
    wait_until(lambda: threads(admin)["queue_depth"] == 0 == listen_rx_queue(port),
               timeout=10, what="an idle accept queue")
    th = threads(admin)["threads"][0]
    assert th["queue_depth"] == 0 and th["queue_limit"] > 0, th
    assert gauge(admin, 0) == 0

    probes.append(stall_worker(gw, port, fifo))
    for _ in range(PROBES):
        probes.append(socket.create_connection((HOST, port), timeout=5))
    wait_until(lambda: listen_rx_queue(port) == PROBES, timeout=10,
               what=f"{PROBES} connections in the accept queue")
    t = threads(admin)
    assert t["queue_depth"] == PROBES, t
    assert t["threads"][0]["queue_depth"] == PROBES, t
    assert t["queue_depth"] == listen_rx_queue(port), t
    assert gauge(admin, 0) == PROBES

    # Released, the worker accepts them all.
    drainer.start()
    wait_until(lambda: threads(admin)["queue_depth"] == 0, timeout=10,
               what="an empty accept queue once the worker runs again")
    assert listen_rx_queue(port) == 0
    assert gauge(admin, 0) == 0


def test_queue_depth_counts_connections_not_yet_accepted():
    port, admin = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="tg-queue-") as d:
        fifo = os.path.join(d, "access.log")
        os.mkfifo(fifo)
        # The read end first, so that the gateway's open of the write end does not block.
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        stop = threading.Event()
        drainer = threading.Thread(target=drain_fifo, args=(rfd, stop), daemon=True)
        probes = []
        cfg = f"""
workers: 1
upstreams: [ {{ name: api, servers: ["{HOST}:{free_port()}"] }} ]
access_log: {{ path: "{fifo}" }}
"""
        try:
            with gateway(port, admin, [], config=cfg) as gw:
                try:
                    check_queue(gw, port, admin, fifo, drainer, probes)
                finally:
                    if not drainer.is_alive():
                        drainer.start()  # so that the gateway can stop
        finally:
            for s in probes:
                s.close()
            stop.set()
            if drainer.is_alive():
                drainer.join(5)
            os.close(rfd)


if __name__ == "__main__":
    run_tests()
