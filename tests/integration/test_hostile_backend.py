# SPDX-License-Identifier: MIT
"""Broken backend responses through the gateway. The rule under test (ARCHITECTURE.md,
"Error handling and bad input"): while nothing of the response has reached the client,
a broken response becomes a 502; once bytes went out, the gateway closes the client
connection cleanly: no garbage bytes, never a second response, and never a framing that
makes a cut response look complete. A backend connection that sent anything unexpected
is never reused. 1xx responses are forwarded to HTTP/1.1 clients with their fields
(RFC 9110 §15.2), never to HTTP/1.0 clients; a 101 nobody asked for is a 502 (RFC 9110
§15.2.2).

Every case prints one line; a failing test lists each failed case with what it got."""
import socket
import time

from tgtest import *  # noqa: F401,F403
from evil_backend import EvilBackend, Reply, drip
from hostile_client import exchange, split_responses

CFG = "workers: 1\ntimeouts: { default: 3s }\n"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSECOND"
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def get(path, version=b"1.1", extra=b""):
    return b"GET " + path.encode() + b" HTTP/" + version + b"\r\nHost: x\r\n" + extra + b"\r\n"


def run(cases, cfg=CFG):
    """cases: [(name, path, Reply, check)]; check(res, be) returns a list of problems."""
    port, admin = free_port(), free_port()
    failures = []
    with EvilBackend() as be, gateway(port, admin, [be.addr()], config=cfg):
        be.on("/second", Reply(SECOND))
        for name, path, reply, check in cases:
            if reply is not None:
                be.on(path, reply)
            errs = check(port, path, be)
            if errs:
                failures.append(f"{name}: " + "; ".join(errs))
                print(f"    FAIL {name}: {'; '.join(errs)}", flush=True)
            else:
                print(f"    ok   {name}", flush=True)
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n  " + "\n  ".join(failures)


def expect_502(*forbidden):
    """The client gets one 502 and none of the `forbidden` byte strings (default b"EVIL")."""
    forbidden = forbidden or (b"EVIL",)

    def check(port, path, be):
        # The client asks to close, so a correct gateway does not keep the test waiting.
        res = exchange(port, get(path, extra=b"Connection: close\r\n"))
        errs = []
        if res.status != 502:
            errs.append(f"status {res.status}, expected 502")
        if len(res.finals()) > 1:
            errs.append(f"{len(res.finals())} final responses")
        if not res.complete:
            errs.append("incomplete response")
        for f in forbidden:
            if f in res.data:
                errs.append(f"backend bytes {f!r} reached the client")
        if errs:
            errs.append(f"got {res!r}")
        return errs
    return check


def expect_cut(*forbidden):
    """The head went out before the breakage: the client sees a 200 whose body never
    completes, then the close; no second response and none of `forbidden`."""
    def check(port, path, be):
        res = exchange(port, get(path))
        errs = []
        if not res.data.startswith(b"HTTP/1.1 200"):
            errs.append("no 200 head first")
        if not res.closed:
            errs.append("connection left open")
        if res.complete:
            errs.append("the cut response looks complete to the client")
        if res.data.count(b"HTTP/1.") != 1:
            errs.append("a second response followed")
        for f in forbidden:
            if f in res.data:
                errs.append(f"backend bytes {f!r} reached the client")
        if errs:
            errs.append(f"got {res!r}")
        return errs
    return check


def expect_502_or_cut(port, path, be):
    """Breakage in the same packet as the head: 502 if the head was held back, else a
    clean cut. Either way exactly one response and a closed or usable connection."""
    res = exchange(port, get(path))
    if res.status == 502:
        return [] if len(res.finals()) == 1 else [f"502 plus more: {res!r}"]
    return expect_cut()(port, path, be)


def test_broken_heads_give_502():
    """Nothing of these reached the client yet, so each is a 502 and no backend byte
    leaks. CL+TE: RFC 9112 §6.3 lets an intermediary repair it, the gateway's rule is to
    refuse it, as an ambiguous response is a response-splitting sign."""
    long_field = b"X-Long: " + b"l" * (128 * 1024) + b"\r\n"
    many = b"".join(b"X-F%d: v\r\n" % i for i in range(200))
    run([
        ("two different Content-Length", "/two-cl", Reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nEVIL"),
         expect_502()),
        ("Content-Length and Transfer-Encoding", "/cl-te", Reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\nEVIL\r\n0\r\n\r\n"), expect_502()),
        ("Content-Length -1", "/cl-neg", Reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nEVIL"), expect_502()),
        ("status 2000", "/status-2000", Reply(
            b"HTTP/1.1 2000 OK\r\nContent-Length: 4\r\n\r\nEVIL"), expect_502()),
        ("status 20", "/status-20", Reply(
            b"HTTP/1.1 20 OK\r\nContent-Length: 4\r\n\r\nEVIL"), expect_502()),
        ("garbage status line", "/garbage", Reply(
            b"EVIL GARBAGE\r\nContent-Length: 4\r\n\r\nEVIL"), expect_502()),
        ("NUL in a field value", "/nul", Reply(
            b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 4\r\n\r\nEVIL"), expect_502()),
        ("128 KiB field line", "/long-field", Reply(
            b"HTTP/1.1 200 OK\r\n" + long_field + b"Content-Length: 4\r\n\r\nEVIL"),
         expect_502(b"EVIL", b"lllll")),
        ("200 header fields", "/many-fields", Reply(
            b"HTTP/1.1 200 OK\r\n" + many + b"Content-Length: 4\r\n\r\nEVIL"),
         expect_502(b"EVIL", b"X-F1")),
        ("close mid-head", "/mid-head", Reply(
            b"HTTP/1.1 200 OK\r\nContent-Le", then="close"), expect_502(b"200 OK")),
        ("close without answering", "/nothing", Reply(then="close"), expect_502()),
        ("bad chunk size with the head", "/chunk-bad", Reply(
            CHUNKED_HEAD + b"zz\r\nEVIL\r\n0\r\n\r\n"), expect_502()),
        ("chunk without CRLF with the head", "/chunk-nocrlf", Reply(
            CHUNKED_HEAD + b"4\r\nEVILXX0\r\n\r\n"), expect_502()),
        ("101 without an Upgrade request", "/101", Reply(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: Upgrade\r\n\r\n"
            b"EVIL"), expect_502()),
    ])


def no_obs_fold(port, path, be):
    """RFC 9112 §5.2: a proxy either refuses an obs-fold in a response (502) or replaces
    it with SP; the client never receives one."""
    res = exchange(port, get(path))
    if res.status == 502:
        return []
    head = res.data.split(b"\r\n\r\n", 1)[0]
    if res.status != 200 or b"\r\n " in head or b"\r\n\t" in head:
        return [f"obs-fold reached the client or bad answer: {res!r}"]
    return []


def test_breakage_after_the_head_went_out():
    """Once the head was flushed (the backend pauses 0.3 s first), the gateway can only
    cut: the client must be able to tell the response is incomplete."""
    run([
        ("close mid-body", "/mid-body", Reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", b"", gap=0.3,
            then="close"), expect_cut()),
        ("bad chunk size after the head", "/chunk-bad-late", Reply(
            CHUNKED_HEAD + b"5\r\nhello\r\n", b"zz\r\nEVIL\r\n0\r\n\r\n", gap=0.3),
         expect_cut(b"EVIL", b"zz")),
        ("chunk without CRLF after the head", "/chunk-nocrlf-late", Reply(
            CHUNKED_HEAD + b"5\r\nhello\r\n", b"4\r\nEVILXX0\r\n\r\n", gap=0.3),
         expect_cut(b"XX")),
        ("close mid-body in the head's packet", "/mid-body-now", Reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", then="close"),
         expect_502_or_cut),
        ("obs-fold in a response field", "/obs-fold", Reply(
            b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 2\r\n\r\nok"), no_obs_fold),
    ])


def expect_ok(port, path, be):
    res = exchange(port, get(path))
    finals = res.finals()
    if not res.complete or len(finals) != 1 or finals[0].status != 200 or finals[0].body != b"ok":
        return [f"no clean 200 'ok': {res!r}"]
    return []


def test_slow_backends():
    """A response dripped one byte at a time is parsed incrementally and delivered whole;
    a backend that stalls after its head is cut at the route deadline (timeouts.default,
    3 s here), and the client can tell the response is incomplete."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    run([
        ("response dripped byte by byte", "/drip", Reply(*drip(ok), gap=0.005), expect_ok),
        ("chunked response dripped", "/drip-chunked", Reply(
            *drip(CHUNKED_HEAD + b"2\r\nok\r\n0\r\n\r\n"), gap=0.005), expect_ok),
        ("stall after the head", "/stall", Reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", then="hold"), expect_cut()),
    ])


def stray_then_second(delay_before_second):
    """First answer complete, then stray bytes from the backend. A second request on the
    same client connection must get its own answer from a fresh backend connection."""
    def check(port, path, be):
        errs = []
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(get(path, extra=b"X-Seq: 1\r\n"))
            first = read_one(c)
            time.sleep(delay_before_second)
            c.sendall(get("/second"))
            second = read_one(c)
        r1, _ = split_responses(first)
        if not r1 or r1[0].status != 200:
            errs.append(f"first answer {first!r}")
        r2, ok2 = split_responses(second)
        if not ok2 or not r2 or r2[-1].body != b"SECOND":
            errs.append(f"second answer {second!r}, expected the backend's SECOND")
        if b"STRAY" in first + second or b"EVIL" in first + second:
            errs.append("stray backend bytes reached the client")
        conns = [c for c in be.conns if any(b" /second " in h for h in c.heads)]
        firsts = [c for c in be.conns if any(b"X-Seq: 1" in h and path.encode() in h
                                             for h in c.heads)]
        if conns and firsts and conns[-1] is firsts[-1]:
            errs.append("the backend connection that sent stray bytes was reused")
        return errs
    return check


def read_one(c, head=False, timeout=5):
    """Reads from `c` until one complete final response (or close/timeout); `head`: the
    answer to a HEAD request (no body)."""
    buf = b""
    deadline = time.monotonic() + timeout
    c.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            d = c.recv(65536)
        except socket.timeout:
            rs, ok = split_responses(buf, head_request=head)
            if ok and any(r.status >= 200 for r in rs):
                break
            continue
        if not d:
            break
        buf += d
    return buf


def test_stray_bytes_never_reach_the_next_request():
    """Response splitting: bytes after a complete response belong to no request. The
    backend connection must be dropped, not returned to the pool."""
    stray = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nSTRAY"
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    run([
        ("stray response in the same packet", "/stray", Reply(ok + stray), stray_then_second(0.1)),
        ("stray response 0.2 s later", "/stray-late", Reply(ok, stray, gap=0.2),
         stray_then_second(0.5)),
        ("body sent to a HEAD request", "/head-body", Reply(
            b"HTTP/1.1 200 OK\r\nX-H: 1\r\nContent-Length: 4\r\n\r\nEVIL"), head_then_second),
    ])


def head_then_second(port, path, be):
    """A HEAD answered with a body: the body bytes are stray bytes."""
    errs = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Seq: 1\r\n\r\n")
        first = read_one(c, head=True)
        time.sleep(0.1)
        c.sendall(get("/second"))
        second = read_one(c)
    if not first.startswith(b"HTTP/1.1 200"):
        errs.append(f"HEAD answer {first!r}")
    if b"EVIL" in first + second:
        errs.append(f"HEAD body bytes reached the client: {first + second!r}")
    r2, ok2 = split_responses(second)
    if not ok2 or not r2 or r2[-1].body != b"SECOND":
        errs.append(f"second answer {second!r}, expected SECOND")
    return errs


def early_hints_forwarded(port, path, be):
    res = exchange(port, get(path))
    errs = []
    hints = [r for r in res.responses if r.status == 103]
    if len(hints) != 2:
        errs.append(f"{len(hints)} 103 responses reached the client, expected 2")
    for h in hints:
        links = [v for n, v in h.fields if n == "link"]
        if links != ["</style.css>; rel=preload; as=style", "</app.js>; rel=preload; as=script"]:
            errs.append(f"103 without its Link fields: {h.fields}")
    finals = res.finals()
    if len(finals) != 1 or finals[0].status != 200 or finals[0].body != b"ok":
        errs.append("final response missing or wrong")
    if res.responses and res.responses[-1] is not (finals[0] if finals else None):
        errs.append("the final response is not last")
    if errs:
        errs.append(f"got {res!r}")
    return errs


def no_1xx_to_http10(port, path, be):
    res = exchange(port, get(path, version=b"1.0"))
    if res.interim() or res.status != 200 or res.finals()[0].body != b"ok":
        return [f"HTTP/1.0 client got a 1xx or no clean 200: {res!r}"]
    return []


def unasked_100(port, path, be):
    """RFC 9110 §15.2.1: a client must parse a 1xx it did not expect; forwarding it or
    dropping it are both fine. The final answer must be the backend's 200."""
    res = exchange(port, get(path))
    finals = res.finals()
    if not res.complete or len(finals) != 1 or finals[0].status != 200 or finals[0].body != b"ok":
        return [f"no clean final 200 after an unasked 100: {res!r}"]
    return []


def test_interim_responses():
    hint = (b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n"
            b"Link: </app.js>; rel=preload; as=script\r\n\r\n")
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    run([
        ("two 103 Early Hints, then 200", "/hints", Reply(hint, hint, ok, gap=0.2),
         early_hints_forwarded),
        ("103 to an HTTP/1.0 client", "/hints", None, no_1xx_to_http10),
        ("100 Continue nobody asked for", "/unasked-100", Reply(
            b"HTTP/1.1 100 Continue\r\n\r\n", ok, gap=0.1), unasked_100),
    ])


if __name__ == "__main__":
    run_tests()
