# SPDX-License-Identifier: MIT
"""cdp: a small Chrome DevTools Protocol client for the browser tests (python3 standard
library only).

Debian's `chromium` is started headless with `--remote-debugging-pipe`: the browser reads
commands from its fd 3 and writes answers and events to its fd 4, each message one JSON
object ended by a NUL byte. A pipe needs no port, no websocket and no HTTP handshake, and
nobody else on the machine can attach to the browser. One thread does everything: a call
writes its command and reads messages until its answer arrives, and the events read on
the way (console errors, exceptions, log entries) are recorded as they pass. Every read
has a deadline, and the browser is killed when the `with` block ends, whatever happened.

    with Browser() as b:                      # a headless chromium, a temporary profile
        page = b.new_page(1280, 720)          # a tab (a target with a flat session)
        page.navigate("http://127.0.0.1:9090/")
        page.wait("document.querySelector('#nav a') !== null", timeout=10)
        page.eval("TG.state.range")           # awaits promises, returns by value
        page.click("#token"); page.type_text("s3cret"); page.press("Enter")
        page.screenshot("/tmp/x.png")
        page.errors                           # console errors, exceptions, failed loads
        page.performance()                    # first contentful paint, bytes, requests
"""

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

__all__ = ["Browser", "Page", "CdpError", "find_chromium"]


class CdpError(Exception):
    """A command the browser answered with an error, or a page script that threw."""


def find_chromium(install=True):
    """The path of Debian's chromium. When it is missing and we are root, installs it
    (apt-get, no recommends); fails saying how to get it otherwise."""
    path = shutil.which("chromium")
    if not path and install and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "chromium"], timeout=900, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        path = shutil.which("chromium")
    assert path, ("chromium is not installed and could not be installed "
                  "(run scripts/install-deps.sh as root)")
    return path


def _above(fd, low):
    """`fd` duplicated to a number of at least `low` (the original is closed)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)
    os.close(fd)
    return new


class Browser:
    """A headless chromium driven over the DevTools pipe. Use as a context manager."""

    def __init__(self, path=None, timeout=15):
        self.path = path or find_chromium()
        self.timeout = timeout
        self.proc = None
        self.profile = None
        self._to = self._from = None
        self._buf = b""
        self._next_id = 0
        self._answers = {}
        self.pages = {}  # sessionId -> Page

    # -- life cycle --------------------------------------------------------------------
    def start(self):
        self.profile = tempfile.mkdtemp(prefix="tg-chromium-")
        cmd_r, cmd_w = os.pipe()   # we write commands, the browser reads fd 3
        ev_r, ev_w = os.pipe()     # the browser writes fd 4, we read
        # The browser's ends are moved above 9 first, so that moving them to 3 and 4
        # cannot overwrite one with the other.
        cmd_r, ev_w = (_above(cmd_r, 10), _above(ev_w, 10))
        args = [self.path, "--headless=new", "--remote-debugging-pipe",
                # The sandbox cannot start as root, which is how the tests run.
                "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--mute-audio",
                "--hide-scrollbars", "--password-store=basic", "--use-mock-keychain",
                f"--user-data-dir={self.profile}", "about:blank"]
        # bash moves the two pipe ends to fds 3 and 4 and execs chromium (dash takes
        # only one-digit fds; preexec_fn is unsafe once a test has started threads).
        shell = f'exec "$@" 3<&{cmd_r} 4>&{ev_w} {cmd_r}<&- {ev_w}>&-'
        self.proc = subprocess.Popen(["/bin/bash", "-c", shell, "bash", *args],
                                     pass_fds=(cmd_r, ev_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, HOME=self.profile),
                                     start_new_session=True)
        os.close(cmd_r)
        os.close(ev_w)
        self._to, self._from = cmd_w, ev_r
        self.call("Target.setDiscoverTargets", {"discover": False})
        return self

    def close(self):
        """Kills the browser (its whole process group) and removes its profile."""
        for fd in (self._to, self._from):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to = self._from = None
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
        if self.proc:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
        return False

    # -- the wire ----------------------------------------------------------------------
    def _send(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._to, data)
            data = data[n:]

    def _read_one(self, deadline):
        """The next message, or None once `deadline` (monotonic) has passed."""
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._from, 1 << 20)
            if not chunk:
                raise CdpError(f"chromium closed the pipe (exit {self.proc.poll()})")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def _dispatch(self, msg):
        if "id" in msg:
            self._answers[msg["id"]] = msg
        elif msg.get("sessionId") in self.pages:
            self.pages[msg["sessionId"]]._event(msg["method"], msg.get("params", {}))

    def pump(self, seconds):
        """Reads and records events for `seconds` (what a sleep would miss)."""
        deadline = time.monotonic() + seconds
        while True:
            msg = self._read_one(deadline)
            if msg is None:
                return
            self._dispatch(msg)

    def call(self, method, params=None, session=None, timeout=None):
        """Sends one command and returns its `result`; raises CdpError on an error answer
        and AssertionError when none comes within `timeout` seconds."""
        self._next_id += 1
        mid = self._next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._send(msg)
        deadline = time.monotonic() + (timeout or self.timeout)
        while mid not in self._answers:
            got = self._read_one(deadline)
            if got is None:
                raise AssertionError(f"cdp: no answer to {method} within "
                                     f"{timeout or self.timeout}s")
            self._dispatch(got)
        answer = self._answers.pop(mid)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error'].get('message')} "
                           f"{answer['error'].get('data', '')}".strip())
        return answer.get("result", {})

    def new_page(self, width=1280, height=720, mobile=False, scale=1):
        """A new tab attached with its own session, sized `width`x`height`, with the
        console, exceptions and the browser log being recorded."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        self.pages[session] = page
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.viewport(width, height, mobile, scale)
        return page


class Page:
    """One tab. `errors` collects, in order, every console.error, uncaught exception and
    error-level browser log entry (failed loads, CSP refusals) as a dict with `kind`,
    `text` and, for a failed load, `url`."""

    def __init__(self, browser, target, session):
        self.browser, self.target, self.session = browser, target, session
        self.errors = []
        self.loaded = False

    def _event(self, method, p):
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in p.get("args", []))
            self.errors.append({"kind": "console", "text": text})
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            text = (d.get("exception") or {}).get("description") or d.get("text", "")
            self.errors.append({"kind": "exception", "text": text,
                                "url": d.get("url", ""), "line": d.get("lineNumber")})
        elif method == "Log.entryAdded":
            e = p.get("entry", {})
            if e.get("level") == "error":
                self.errors.append({"kind": f"log:{e.get('source')}", "text": e.get("text", ""),
                                    "url": e.get("url", "")})
        elif method == "Page.loadEventFired":
            self.loaded = True

    def call(self, method, params=None, timeout=None):
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def viewport(self, width, height, mobile=False, scale=1):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": scale,
                   "mobile": mobile})
        self.call("Emulation.setTouchEmulationEnabled", {"enabled": bool(mobile)})

    def navigate(self, url, timeout=15):
        """Loads `url` and waits for its load event; a change of the fragment alone is a
        navigation within the document, which has none (nor a loader), and returns."""
        self.loaded = False
        r = self.call("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CdpError(f"navigate {url}: {r['errorText']}")
        if not r.get("loaderId"):
            return
        deadline = time.monotonic() + timeout
        while not self.loaded:
            if time.monotonic() > deadline:
                raise AssertionError(f"cdp: {url} did not load within {timeout}s")
            self.browser.pump(0.05)

    def eval(self, expr, timeout=None):
        """The value of the JavaScript expression `expr` (a promise is awaited), as JSON
        gives it back. Raises CdpError when it throws."""
        r = self.call("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True, "userGesture": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CdpError(f"{expr[:120]!r} threw: "
                           f"{(d.get('exception') or {}).get('description') or d.get('text')}")
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=10, interval=0.2, what=None):
        """Evaluates `expr` until it is truthy (returned) or `timeout` seconds pass
        (AssertionError naming `what`, with the last value or error)."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                v = self.eval(expr)
                if v:
                    return v
                last = v
            except CdpError as e:
                last = e
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for "
                                     f"{what or expr} (last: {last!r})")
            self.browser.pump(interval)

    def click(self, selector):
        """Clicks the element `selector` names with a real mouse press at its centre
        (after scrolling it into view), as a user would."""
        box = self.eval(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height];
        }})()""")
        if not box or box[2] == 0 or box[3] == 0:
            raise AssertionError(f"cdp: nothing visible to click at {selector} ({box})")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                                   "button": "left", "clickCount": 1})

    def focus(self, selector):
        if not self.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                         f" if (!e) return false; e.focus();"
                         f" return document.activeElement === e; }})()"):
            raise AssertionError(f"cdp: cannot focus {selector}")

    def type_text(self, text):
        """Types `text` into the focused element (input events, as from a keyboard)."""
        self.call("Input.insertText", {"text": text})

    KEYS = {"Enter": (13, "\r"), "Tab": (9, ""), "Escape": (27, ""), "Backspace": (8, ""),
            "ArrowDown": (40, ""), "ArrowUp": (38, ""), "ArrowLeft": (37, ""),
            "ArrowRight": (39, "")}

    def press(self, key, shift=False):
        """Presses and releases a named key (`Enter`, `Tab`, `Escape`, arrows...)."""
        code, text = self.KEYS[key]
        base = {"key": key, "code": key, "windowsVirtualKeyCode": code,
                "nativeVirtualKeyCode": code, "modifiers": 8 if shift else 0}
        self.call("Input.dispatchKeyEvent", dict(base, type="keyDown" if text else "rawKeyDown",
                                                 **({"text": text} if text else {})))
        self.call("Input.dispatchKeyEvent", dict(base, type="keyUp"))

    def screenshot(self, path):
        """Saves what the viewport shows as a PNG file; returns `path`."""
        data = self.call("Page.captureScreenshot", {"format": "png"}, timeout=30)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def performance(self):
        """The page's first contentful paint (ms after navigation start) and what it
        loaded itself: the document and its resources (stylesheets, scripts, images),
        not the API calls its scripts made. Bytes are transferred sizes (headers and
        body as received)."""
        return self.eval("""(() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const fcp = performance.getEntriesByType('paint')
                .find((e) => e.name === 'first-contentful-paint');
            const assets = performance.getEntriesByType('resource')
                .filter((e) => !['fetch', 'xmlhttprequest', 'beacon'].includes(e.initiatorType));
            const all = [nav, ...assets];
            return {fcp_ms: fcp ? fcp.startTime : null,
                    dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
                    load_ms: nav ? nav.loadEventEnd : null,
                    bytes: all.reduce((s, e) => s + (e.transferSize || 0), 0),
                    body_bytes: all.reduce((s, e) => s + (e.decodedBodySize || 0), 0),
                    requests: all.length,
                    files: all.map((e) => [e.name, e.transferSize])};
        })()""")
