# SPDX-License-Identifier: MIT
"""Hostile request framings sent raw to the gateway (RFC 9112 §2-§7, RFC 9110 §5-§10 and
the usual request-smuggling shapes). For every case: the status, whether the gateway
closed the connection (it must when the framing is unsafe), and what reached the backend
(nothing at all for an ambiguous or malformed request, not even part of the head). An
innocent request rides behind each refused one: it must never be answered.

Each test_* function runs one group of cases against a fresh gateway and prints one line
per case, so a failing run names every case that failed, with what was expected and got.
The cases with answers of their own (absolute-form Host, 414, "Content-Length: 5, 5",
501 for unknown codings, HTTP/1.2 and HTTP/2.0, missing Host, CONNECT) are the contract
of the issue that introduced this file; each cites its rule."""
import socket
import time

from tgtest import *  # noqa: F401,F403
from evil_backend import EvilBackend, Reply
from hostile_client import LINGER, exchange, metric_sum, scrape

CFG = "workers: 1\nlimits: { max_header_bytes: 8KiB }\ntimeouts: { header: 3s }\n"
TAIL = b"GET /tail HTTP/1.1\r\nHost: x\r\n\r\n"
TAIL_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nTAIL"
POST = b"POST /size HTTP/1.1\r\nHost: x\r\n"
GET = b"GET /get HTTP/1.1\r\nHost: x\r\n"
CHUNKED_HELLO = b"5\r\nhello\r\n0\r\n\r\n"

NOTHING = "nothing"        # the backend receives no byte
INCOMPLETE = "incomplete"  # the backend may see a prefix, never a complete request, and
                           # its connection is closed


class Case:
    """One request. `status`: expected final status. `closed`: True/False, or None when
    either is right (then no tail request is sent). `forward`: NOTHING, INCOMPLETE, or a
    function(bytes the backend received) returning an error string or None. `body`:
    expected body of the answer (the backend's /size answer is the body size it read)."""

    def __init__(self, name, data, status, closed=True, forward="default", body=None,
                 cause=None, method=None, tail=None, pieces=None, forbid=None):
        self.name = name
        self.data = data
        self.status = status
        self.closed = closed
        self.forward = forward if forward != "default" else (NOTHING if status >= 400 else None)
        self.body = body
        self.cause = cause or ("bad_request" if status == 400 else None)
        self.method = method
        self.tail = (closed is not None) if tail is None else tail
        self.pieces = pieces  # list of byte pieces sent 0.3 s apart, instead of `data`
        self.forbid = forbid  # bytes that must reach the backend on no connection


def refused(name, data, status=400, **kw):
    return Case(name, data, status, **kw)


def backend():
    be = EvilBackend()
    be.on("/size", Reply(echo_size=True))
    be.on("/tail", Reply(TAIL_ANSWER))
    be.on("/hidden", Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nHIDDEN"))
    return be


def check_case(port, be, case):
    """Runs `case`; returns a list of problems (empty when it behaved as expected)."""
    mark = be.mark()
    if case.pieces:
        res = exchange(port, case.pieces + ([TAIL] if case.tail else []), pieces_gap=0.3)
    else:
        res = exchange(port, case.data + (TAIL if case.tail else b""))
    time.sleep(0.1)  # let the backend threads record whatever reached them
    got = be.since(mark)
    errs = []
    if res.status != case.status:
        errs.append(f"status {res.status}, expected {case.status}")
    if case.closed is not None and res.closed != case.closed:
        errs.append("connection left open" if case.closed else "connection closed")
    finals = res.finals()
    refusal = case.status >= 400
    if refusal and case.closed and finals:
        if (finals[0].header("connection") or "").lower() != "close":
            errs.append("no 'Connection: close' on a refusal that closes")
    if case.tail:
        want = 1 if (refusal or case.closed) else 2
        if len(finals) != want:
            errs.append(f"{len(finals)} final responses, expected {want} "
                        f"({'the request behind it must not be answered' if want == 1 else 'the request behind it must be answered'})")
        if want == 2 and len(finals) == 2 and finals[1].body != b"TAIL":
            errs.append(f"second answer {finals[1].body!r}, expected the backend's b'TAIL'")
    if case.body is not None and finals and finals[0].body != case.body:
        errs.append(f"body {finals[0].body!r}, expected {case.body!r}")
    if refusal and any(r.status == 100 for r in res.interim()):
        errs.append("sent 100 Continue before refusing")
    errs += check_forward(case, got)
    return errs, res, got


def check_forward(case, got):
    allbytes = b"".join(b for _, b in got)
    if case.forbid and any(case.forbid in b for _, b in got):
        return [f"{case.forbid!r} reached the backend"]
    if case.forward == NOTHING:
        return [f"backend received {len(allbytes)} bytes: {allbytes[:120]!r}"] if got else []
    if case.forward == INCOMPLETE:
        errs = []
        if b"\r\n0\r\n\r\n" in allbytes or allbytes.endswith(b"0\r\n\r\n"):
            errs.append(f"backend received a complete chunked body: {allbytes[:160]!r}")
        for c, _ in got:
            if not c.closed.wait(LINGER):
                errs.append("backend connection holding a partial request not closed")
        return errs
    if case.forward is None:
        return []
    e = case.forward(case_bytes(got))
    return [e] if e else []


def case_bytes(got):
    """What the backend received on the connection that carried the case itself (the
    tail request may come on another connection, in any order)."""
    for _, b in got:
        if not b.startswith(TAIL):
            return b
    return b""


def run_cases(cases, cfg=CFG):
    """Runs `cases` against one gateway; prints a line per case; fails listing them all."""
    port, admin = free_port(), free_port()
    failures = []
    with backend() as be, gateway(port, admin, [be.addr()], config=cfg):
        for case in cases:
            errs, res, got = check_case(port, be, case)
            if errs:
                failures.append(f"{case.name}: " + "; ".join(errs) + f" -- got {res!r}")
                print(f"    FAIL {case.name}: {'; '.join(errs)}", flush=True)
            else:
                print(f"    ok   {case.name}: {res.status}"
                      f"{' closed' if res.closed else ' kept open'}", flush=True)
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n  " + "\n  ".join(failures)


def head_of(raw_bytes):
    end = raw_bytes.find(b"\r\n\r\n")
    return raw_bytes[:end + 4] if end >= 0 else None


def field_values(head, name):
    out = []
    for line in head.split(b"\r\n")[1:]:
        k, sep, v = line.partition(b":")
        if sep and k.lower() == name.lower():
            out.append(v.strip())
    return out


# -- Content-Length --------------------------------------------------------------------

def one_content_length_5(got):
    """The backend must see one request with exactly one "Content-Length: 5" and "hello"."""
    head = head_of(got)
    if head is None:
        return f"no complete request head reached the backend: {got[:200]!r}"
    cls = field_values(head, b"content-length")
    if cls != [b"5"]:
        return f"backend got Content-Length lines {cls}, expected exactly [b'5']"
    if not got[len(head):].startswith(b"hello"):
        return f"backend body {got[len(head):][:40]!r}, expected b'hello'"
    return None


def test_content_length_ambiguities():
    """RFC 9110 §8.6, RFC 9112 §6.3: a Content-Length that is not one non-negative
    decimal number is unrecoverable (400, close); identical duplicates may be merged, and
    the contract here is to merge them into one field."""
    big = [b"9223372036854775808", b"18446744073709551621", b"99999999999999999999999"]
    run_cases([
        refused("CL and TE: chunked", POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked"
                b"\r\n\r\n" + CHUNKED_HELLO, method="POST"),
        refused("TE: chunked and CL", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5"
                b"\r\n\r\n" + CHUNKED_HELLO),
        refused("two different CL", POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
        refused("CL list 5, 6", POST + b"Content-Length: 5, 6\r\n\r\nhello!"),
        refused("CL -5", POST + b"Content-Length: -5\r\n\r\nhello"),
        refused("CL 0x5", POST + b"Content-Length: 0x5\r\n\r\nhello"),
        refused("CL +5", POST + b"Content-Length: +5\r\n\r\nhello"),
        refused("CL 5.0", POST + b"Content-Length: 5.0\r\n\r\nhello"),
        refused("CL '1 0'", POST + b"Content-Length: 1 0\r\n\r\nhellohello"),
        refused("CL empty", POST + b"Content-Length: \r\n\r\nhello"),
        refused("CL 2^63", POST + b"Content-Length: " + big[0] + b"\r\n\r\nhello"),
        refused("CL 2^64+5 (wraps to 5)", POST + b"Content-Length: " + big[1] + b"\r\n\r\nhello"),
        refused("CL 23 digits", POST + b"Content-Length: " + big[2] + b"\r\n\r\nhello"),
        Case("CL '5, 5' forwarded as one CL", POST + b"Content-Length: 5, 5\r\n\r\nhello", 200,
             closed=False, forward=one_content_length_5, body=b"5"),
        Case("CL 5 twice forwarded as one CL", POST + b"Content-Length: 5\r\n"
             b"Content-Length: 5\r\n\r\nhello", 200, closed=False, forward=one_content_length_5,
             body=b"5"),
    ])


# -- Transfer-Encoding -----------------------------------------------------------------

def chunked_body_forwarded(got):
    head = head_of(got)
    if head is None:
        return f"no request head reached the backend: {got[:200]!r}"
    if b"hello" not in got[len(head):]:
        return f"backend did not get the body: {got[len(head):][:80]!r}"
    return None


def test_transfer_encoding_tricks():
    """RFC 9112 §6.1/§6.3: chunked must be the final coding of a request (else 400 and
    close); chunked twice is forbidden; a coding the gateway does not implement is 501
    (the contract, and RFC 9112 §6.1's SHOULD); HTTP/1.0 with Transfer-Encoding is faulty
    framing (400, close); whitespace before the colon is a 400 (RFC 9112 §5.1); an
    obs-fold is refused (RFC 9112 §5.2, the strict choice). Coding names are
    case-insensitive and OWS may be a tab (RFC 9112 §7, RFC 9110 §5.6.3)."""
    te = lambda v: POST + b"Transfer-Encoding: " + v + b"\r\n\r\n" + CHUNKED_HELLO  # noqa: E731
    run_cases([
        refused("TE chunked, gzip", te(b"chunked, gzip")),
        refused("TE chunked, chunked", te(b"chunked, chunked")),
        refused("TE chunked on two lines, 2nd 'chunked '", POST + b"Transfer-Encoding: chunked\r\n"
                b"Transfer-Encoding: chunked \r\n\r\n" + CHUNKED_HELLO),
        refused("TE space before colon", POST + b"Transfer-Encoding : chunked\r\n\r\n" + CHUNKED_HELLO),
        refused("TE tab before colon", POST + b"Transfer-Encoding\t: chunked\r\n\r\n" + CHUNKED_HELLO),
        refused("TE vertical tab before value", POST + b"Transfer-Encoding:\x0bchunked\r\n\r\n"
                + CHUNKED_HELLO),
        refused("TE obs-folded 'gzip,' + ' chunked'", POST + b"Transfer-Encoding: gzip,\r\n chunked"
                b"\r\n\r\n" + CHUNKED_HELLO),
        refused("whitespace-led line after request line", b"POST /size HTTP/1.1\r\n"
                b" Transfer-Encoding: chunked\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
        refused("HTTP/1.0 with TE chunked", b"POST /size HTTP/1.0\r\nTransfer-Encoding: chunked"
                b"\r\n\r\n" + CHUNKED_HELLO),
        refused("HTTP/1.0 with TE chunked and CL", b"POST /size HTTP/1.0\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + CHUNKED_HELLO),
        refused("TE xchunked (unknown coding)", te(b"xchunked"), 501, cause="not_implemented"),
        refused("TE foo (unknown coding)", te(b"foo"), 501, cause="not_implemented"),
        refused("TE gzip, chunked (not implemented)", te(b"gzip, chunked"), 501,
                cause="not_implemented"),
        refused("TE gzip + chunked on two lines", POST + b"Transfer-Encoding: gzip\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + CHUNKED_HELLO, 501, cause="not_implemented"),
        Case("TE after a tab is fine", POST + b"Transfer-Encoding:\tchunked\r\n\r\n" + CHUNKED_HELLO,
             200, closed=False, forward=chunked_body_forwarded, body=b"5"),
        Case("TE with a trailing tab is fine", te(b"chunked\t"), 200, closed=False,
             forward=chunked_body_forwarded, body=b"5"),
        Case("TE CHUNKED (case-insensitive)", te(b"CHUNKED"), 200, closed=False,
             forward=chunked_body_forwarded, body=b"5"),
    ])


# -- header fields ---------------------------------------------------------------------

def obs_text_forwarded(got):
    head = head_of(got)
    if head is None or b"\r\nX-Name: caf\xc3\xa9 \xff\r\n" not in head:
        return f"obs-text value not forwarded byte for byte: {got[:300]!r}"
    return None


def test_header_field_syntax():
    """RFC 9112 §5 and RFC 9110 §5.1/§5.5: names are tokens with no whitespace before
    the colon; values hold no NUL, CR, LF or other controls (bare CR and obs-fold: the
    strict choice of RFC 9112 §2.2/§5.2); one valid Host (RFC 9112 §3.2). Bytes 0x80-0xFF
    in a value (obs-text) are allowed and forwarded as they are."""
    g = lambda extra: GET + extra + b"\r\n"  # noqa: E731
    run_cases([
        refused("obs-fold continuation", g(b"X-A: one\r\n two\r\n"), method="GET"),
        refused("obs-fold with a tab", g(b"X-A: one\r\n\ttwo\r\n")),
        refused("space before colon", g(b"X-A : b\r\n")),
        refused("NUL in value", g(b"X-A: a\x00b\r\n")),
        refused("bare CR in value", g(b"X-A: a\rb\r\n")),
        refused("bare LF in value hiding a TE line", POST + b"X-A: a\nTransfer-Encoding: chunked"
                b"\r\nContent-Length: 5\r\n\r\nhello"),
        refused("DEL in value", g(b"X-A: a\x7fb\r\n")),
        refused("ESC in value", g(b"X-A: a\x1b[31mb\r\n")),
        refused("space inside name", g(b"X A: b\r\n")),
        refused("'(' in name", g(b"X(A): b\r\n")),
        refused("non-ASCII name", g(b"X-\xc3\xa9: b\r\n")),
        refused("empty name", g(b": b\r\n")),
        refused("line without colon", g(b"X-A b\r\n")),
        refused("two Host fields", b"GET /get HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        refused("Host with a space", b"GET /get HTTP/1.1\r\nHost: a b\r\n\r\n"),
        Case("obs-text in a value is allowed", g(b"X-Name: caf\xc3\xa9 \xff\r\n"), 200,
             closed=False, forward=obs_text_forwarded),
    ])


# -- request line ----------------------------------------------------------------------

def test_request_line_syntax():
    """RFC 9112 §3: method SP request-target SP HTTP-version CRLF, exactly. The method is
    a case-sensitive token (the contract, as nginx: a lower-case method is refused), the
    version is "HTTP/" DIGIT "." DIGIT. An empty line before the request line is ignored
    (RFC 9112 §2.2)."""
    h = b"\r\nHost: x\r\n\r\n"
    run_cases([
        refused("two spaces", b"GET  /get HTTP/1.1" + h, method="OTHER"),
        refused("tabs as separators", b"GET\t/get\tHTTP/1.1" + h),
        refused("lower-case method", b"get /get HTTP/1.1" + h),
        refused("missing version", b"GET /get" + h),
        refused("HTTP/1.10", b"GET /get HTTP/1.10" + h),
        refused("lower-case http/1.1", b"GET /get http/1.1" + h),
        refused("space after version", b"GET /get HTTP/1.1 " + h),
        refused("control byte in target", b"GET /a\x01b HTTP/1.1" + h),
        refused("space in target", b"GET /a b HTTP/1.1" + h),
        refused("bare LF line ends", b"GET /get HTTP/1.1\nHost: x\n\n"),
        refused("TLS ClientHello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40),
        Case("empty line before request line", b"\r\n" + GET + b"\r\n", 200, closed=False),
    ])


# -- versions, Host, methods -----------------------------------------------------------

def absolute_form_rewritten(got):
    head = head_of(got)
    if head is None:
        return f"no request head reached the backend: {got[:200]!r}"
    line = head.split(b"\r\n", 1)[0]
    if line != b"GET /x?q=1 HTTP/1.1":
        return f"backend request line {line!r}, expected b'GET /x?q=1 HTTP/1.1'"
    hosts = field_values(head, b"host")
    if hosts != [b"a.example"]:
        return f"backend Host fields {hosts}, expected exactly [b'a.example']"
    return None


def forwarded_as_11(got):
    head = head_of(got)
    if head is None or not head.startswith(b"GET /get HTTP/1.1\r\n"):
        return f"backend did not get an HTTP/1.1 request: {got[:200]!r}"
    return None


def check_http11_answer(res):
    finals = res.finals()
    return finals and finals[0].version == "HTTP/1.1"


def test_versions_host_and_methods():
    """Absolute-form (RFC 9112 §3.2.2): the Host comes from the target and the backend
    gets origin-form. HTTP/1.2 is served as HTTP/1.1 (RFC 9110 §2.5); HTTP/2.0 and 3.0
    on an HTTP/1 listener get 505. HTTP/1.1 without Host is 400 (RFC 9112 §3.2); an
    HTTP/1.0 request needs none. CONNECT is refused with 405."""
    run_cases([
        Case("absolute-form replaces Host", b"GET http://a.example/x?q=1 HTTP/1.1\r\n"
             b"Host: b.example\r\n\r\n", 200, closed=False, forward=absolute_form_rewritten),
        Case("HTTP/1.2 served as 1.1", b"GET /get HTTP/1.2\r\nHost: x\r\n\r\n", 200,
             closed=False, forward=forwarded_as_11),
        refused("HTTP/2.0 request line", b"GET /get HTTP/2.0\r\nHost: x\r\n\r\n", 505,
                cause="version_not_supported"),
        refused("HTTP/3.0 request line", b"GET /get HTTP/3.0\r\nHost: x\r\n\r\n", 505,
                cause="version_not_supported"),
        refused("HTTP/1.1 without Host", b"GET /get HTTP/1.1\r\nX-A: 1\r\n\r\n",
                cause="missing_host"),
        Case("HTTP/1.0 without Host", b"GET /get HTTP/1.0\r\n\r\n", 200, closed=True,
             forward=None, tail=True),
        refused("CONNECT", b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
                405, closed=None, cause="method_not_allowed"),
    ])
    # The answer to HTTP/1.2 must itself be HTTP/1.1.
    port, admin = free_port(), free_port()
    with backend() as be, gateway(port, admin, [be.addr()], config=CFG):
        res = exchange(port, b"GET /get HTTP/1.2\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert res.status == 200 and check_http11_answer(res), res


# -- chunked bodies --------------------------------------------------------------------

def test_chunked_body_framing():
    """RFC 9112 §7.1: chunk-size is 1*HEXDIG (no 0x, no sign, no overflow), each line ends
    in CRLF, chunk data is followed by CRLF, extensions are ;name[=value] with tokens or
    quoted strings. The whole malformed body arrives with the head, so nothing may be
    forwarded; a bad chunk that arrives after the head was forwarded must cut the backend
    connection without ever completing the request there."""
    ch = lambda body: POST + b"Transfer-Encoding: chunked\r\n\r\n" + body  # noqa: E731
    run_cases([
        refused("chunk size overflow", ch(b"fffffffffffffffffff\r\nhello\r\n0\r\n\r\n")),
        refused("chunk size 2^64+5 (wraps to 5)", ch(b"10000000000000005\r\nhello\r\n0\r\n\r\n")),
        refused("chunk size 0x5", ch(b"0x5\r\nhello\r\n0\r\n\r\n")),
        refused("chunk size -5", ch(b"-5\r\nhello\r\n0\r\n\r\n")),
        refused("chunk size zz", ch(b"zz\r\nhello\r\n0\r\n\r\n")),
        refused("chunk size '1 0'", ch(b"1 0\r\nhellohello\r\n0\r\n\r\n")),
        refused("no CRLF after chunk data", ch(b"5\r\nhelloXX0\r\n\r\n")),
        refused("bare LF chunk lines", ch(b"5\nhello\n0\n\n")),
        refused("control byte in chunk extension", ch(b"5;a=\x01\r\nhello\r\n0\r\n\r\n")),
        refused("64 KiB chunk extension", ch(b"5;" + b"a" * 65536 + b"\r\nhello\r\n0\r\n\r\n"),
                forward=INCOMPLETE),
        refused("request line as a trailer field", ch(b"5\r\nhello\r\n0\r\n")),
        Case("bad chunk after the head went out", None, 400, forward=INCOMPLETE,
             pieces=[POST + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                     b"zz\r\nhello\r\n0\r\n\r\n"]),
    ])


# -- requests hidden in bodies, pipelining ---------------------------------------------

def hidden_not_a_request(got):
    if got.count(b"GET /hidden") != 1 or not got.startswith(b"POST /size"):
        return f"hidden request not forwarded as body bytes of the POST: {got[:300]!r}"
    return None


def test_requests_hidden_in_bodies():
    """The classic CL.TE and TE.CL shapes are refused outright; a request that is really
    body bytes (covered by Content-Length) stays body bytes; after "Connection: close" the
    request pipelined behind is never read (RFC 9112 §9.6)."""
    hidden = b"GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n"
    run_cases([
        refused("CL.TE", POST + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"0\r\n\r\nG"),
        refused("TE.CL", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
                b"%x\r\n" % len(hidden) + hidden + b"\r\n0\r\n\r\n"),
        refused("CL.CL hiding a request", POST + b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n"
                % len(hidden) + hidden),
        Case("request inside a Content-Length body", POST + b"Content-Length: %d\r\n\r\n"
             % len(hidden) + hidden, 200, closed=False, forward=hidden_not_a_request,
             body=b"%d" % len(hidden)),
        Case("Connection: close then a pipelined request", GET + b"Connection: close\r\n\r\n",
             200, closed=True, forbid=b"GET /tail"),
    ])


# -- Expect ----------------------------------------------------------------------------

def test_expect_continue_combinations():
    """RFC 9110 §10.1.1: a request refused for its framing gets its final status and no
    100 Continue first; an HTTP/1.0 request's 100-continue is ignored (no 100 sent)."""
    exp = b"Expect: 100-continue\r\n"
    run_cases([
        refused("Expect with CL and TE", POST + exp + b"Content-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + CHUNKED_HELLO),
        refused("Expect with CL 'abc'", POST + exp + b"Content-Length: abc\r\n\r\n"),
        refused("Expect with two CL", POST + exp + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
    ])
    port, admin = free_port(), free_port()
    with backend() as be, gateway(port, admin, [be.addr()], config=CFG):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"POST /size HTTP/1.0\r\n" + exp + b"Content-Length: 5\r\n\r\n")
            c.settimeout(0.5)
            try:
                early = c.recv(4096)
            except socket.timeout:
                early = b""
            assert not early.startswith(b"HTTP/1.1 100"), ("100 Continue sent to HTTP/1.0", early)
            c.sendall(b"hello")
            c.settimeout(5)
            buf = early
            while True:
                d = c.recv(4096)
                if not d:
                    break
                buf += d
        assert b" 100 " not in buf.split(b"\r\n", 1)[0], buf
        assert buf.startswith(b"HTTP/1.1 200") and buf.endswith(b"\r\n\r\n5"), buf
    # A body over limits.max_body_bytes announced with Expect: 413, no 100 first.
    cfg = CFG.replace("limits: { max_header_bytes: 8KiB }",
                      "limits: { max_header_bytes: 8KiB, max_body_bytes: 1KiB }")
    run_cases([refused("Expect with a body over max_body_bytes", POST + exp +
                       b"Content-Length: 5000\r\n\r\n", 413, closed=None)], cfg=cfg)


# -- limits ----------------------------------------------------------------------------

def test_head_limits():
    """431 for a head over limits.max_header_bytes or with more fields than
    limits.max_headers (RFC 6585 §5); 414 when the request-target alone is over the limit
    (RFC 9110 §15.5.15), not 431. Both close: the rest of the head is unread."""
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    medium = b"".join(b"X-M%d: %s\r\n" % (i, b"m" * 100) for i in range(90))
    run_cases([
        refused("150 header fields", GET + many + b"\r\n", 431, cause="head_too_large"),
        refused("one 9000-byte field", GET + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n", 431,
                cause="head_too_large"),
        refused("90 fields of 100 bytes", GET + medium + b"\r\n", 431, cause="head_too_large"),
        refused("9 KiB request-target", b"GET /" + b"t" * 9216 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                414, cause="uri_too_long"),
        Case("4 KiB request-target is fine", b"GET /" + b"t" * 4096 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
             200, closed=False, forward=None),
    ])


# -- metrics ---------------------------------------------------------------------------

def test_refusals_counted_in_metrics():
    """Each refusal counts in http_requests_total and tailguard_request_causes_total under
    endpoint="(rejected)", with the method of the request line, or OTHER when there is no
    parsable request line."""
    sends = [
        (b"GET /get HTTP/1.1\r\nX-A: a\x00b\r\nHost: x\r\n\r\n", "GET", 400, "bad_request"),
        (b"POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         "POST", 400, "bad_request"),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", "OTHER", 400, "bad_request"),
        (b"GET /get HTTP/1.1\r\n\r\n", "GET", 400, "missing_host"),
        (GET + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n", "GET", 431,
         "head_too_large"),
        (b"GET /" + b"t" * 9216 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 414, "uri_too_long"),
        (POST + b"Transfer-Encoding: foo\r\n\r\n", "POST", 501, "not_implemented"),
        (b"GET /get HTTP/2.0\r\nHost: x\r\n\r\n", "GET", 505, "version_not_supported"),
        (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "CONNECT", 405, "method_not_allowed"),
    ]
    port, admin = free_port(), free_port()
    with backend() as be, gateway(port, admin, [be.addr()], config=CFG):
        before = scrape(admin)
        for data, _, status, _ in sends:
            res = exchange(port, data)
            print(f"    sent {data[:40]!r}: got {res.status}", flush=True)
        want_status, want_cause = {}, {}
        for _, method, status, cause in sends:
            want_status[(method, status)] = want_status.get((method, status), 0) + 1
            want_cause[(method, cause)] = want_cause.get((method, cause), 0) + 1

        def deltas():
            now = scrape(admin)
            d = {}
            for (m, s), n in want_status.items():
                lab = dict(endpoint="(rejected)", method=m, status=s)
                d[("status", m, s)] = (metric_sum(now, "http_requests_total", **lab)
                                       - metric_sum(before, "http_requests_total", **lab), n)
            for (m, cause), n in want_cause.items():
                lab = dict(endpoint="(rejected)", method=m, cause=cause)
                name = "tailguard_request_causes_total"
                d[("cause", m, cause)] = (metric_sum(now, name, **lab)
                                          - metric_sum(before, name, **lab), n)
            return d

        last = {}

        def settled():
            last.clear()
            last.update(deltas())
            return all(got == want for got, want in last.values())
        try:
            wait_until(settled, timeout=4, what="refusal counters")
        except AssertionError:
            bad = {k: f"got +{g:g}, expected +{w}" for k, (g, w) in last.items() if g != w}
            raise AssertionError(f"/metrics refusal counters wrong: {bad}") from None


if __name__ == "__main__":
    run_tests()
