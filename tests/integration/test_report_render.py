# SPDX-License-Identifier: MIT
"""The post-incident report as a browser sees it: a fixture incident full of hostile
strings (markup, quotes, ampersands, pipes, newlines, control characters, a 20 kB line)
rendered by tests' report_render tool into HTML and Markdown, then

- the HTML read by python's html.parser: every element closed in order, no script, no
  event handler, no outside reference, and every hostile string back as text exactly as
  written (escaped once, not twice, not lost);
- its inline SVG parsed as XML (xml.etree), with both latency lines, the target, the
  alert and action markers and the time and ms labels;
- the Markdown tables: every row of a table has as many cells as its header;
- the page rendered by headless Chromium into a PNG screenshot (its path printed), which
  must be a 1200x2000 image with many colours, the p95 and p99 lines' among them.

Chromium comes from Debian (scripts/install-deps.sh lists it); when it is missing the
test installs it as root, and fails saying so when it cannot."""

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser

from tgtest import *

RENDER = os.environ.get("TG_REPORT_RENDER", "")
T0 = 1796056800000  # 2026-11-30T16:40:00Z
SVG_NS = "{http://www.w3.org/2000/svg}"
P95_RGB = (0x1F, 0x6F, 0xEB)
P99_RGB = (0x82, 0x50, 0xDF)

EVIL = "<script>alert(\"pwn\")</script> & 'quotes' | pipes | # *em* [a](b) `c`"
LONG = "L" * 20000


def iso(ms):
    import datetime
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def fixture():
    """Ten minutes of points every 5 s: 90 ms, a jump to 1.9 s at T0 + 1 min, back at
    T0 + 7 min, a gap of no data in the middle."""
    points = []
    for i in range(0, 121):
        t = T0 + i * 5000
        p95 = 1900.0 if 60000 <= t - T0 < 420000 else 90.0
        if 50 <= i < 54:
            p95 = None
        points.append([t, p95, None if p95 is None else p95 * 1.6])
    inc = {
        "id": 42, "title": EVIL + "\nsecond line", "status": "resolved", "severity": "SEV-2",
        "opened_at": iso(T0 + 60000), "resolved_at": iso(T0 + 420000), "closed_at": None,
        "opened_by": "alert", "escalation_level": "L1", "ack_deadline": iso(T0 + 960000),
        "alerts": [{"alertname": "<img src=x onerror=alert(1)>", "labels": {"k\"&": "v<'>"},
                    "state": "resolved", "fired_at": iso(T0 + 60000),
                    "resolved_at": iso(T0 + 420000)}],
        "diagnosis": {
            "degraded": True, "severity": "SEV-2", "window_s": 300, "scope": "targeted",
            "pattern": "sudden", "onset": iso(T0 + 55000), "categories": ["auth"],
            "affected": [{"endpoint": "/api/products", "method": "GET", "p95_ms": 1900,
                          "target_ms": 1000, "baseline_p95_ms": 90, "rps": 20,
                          "error_rate": 0.01}],
            "causes": [{"cause": "database", "confidence": 0.7,
                        "evidence": ["mean statement 340 ms", EVIL]}],
            "correlations": [{"kind": "deployment", "evidence": "deploy </svg> 1.2.3",
                              "event_id": 3}],
            "checks": ["check slow queries", "1. not a list"],
            "suggested_mitigations": []},
        "affected_endpoints": [{"endpoint": "/api/products", "method": "GET"}],
        "timeline": [
            {"ts": iso(T0 + 60000), "kind": "alert", "text": "fired\x01 | a\r\nb", "data": None},
            {"ts": iso(T0 + 90000), "kind": "mitigation", "text": LONG, "data": {"x": EVIL}},
        ],
        "actions_taken": [{"ts": iso(T0 + 90000), "op": "BREAKER</text><script>x</script>",
                           "method": "PUT", "path": "/api/v1/system/circuit-breaker",
                           "body": {"enabled": True}, "by": "playbook", "verdict": "helped",
                           "undone_at": None},
                          {"ts": iso(T0 + 100000), "op": "TIMEOUTS" + "\u00e9" * 40,
                           "method": "PUT", "path": "/\u00e9\u4e2d" * 300, "body": None,
                           "by": "api", "verdict": None, "undone_at": None}],
        "root_cause": "Index dropped by a migration & not restored\n# not a heading",
        "lessons_learned": "", "prevention_measures": ["review <migrations>"],
        "follow_up": [{"item": "monitoring improvements", "state": "done"}],
        "checklist": {}, "communications": [{"ts": iso(T0 + 70000), "kind": "detected",
                                             "text": "\"notice\" sent"}],
        "impact": None,
    }
    return {"incident": inc, "points": points, "target_ms": 1000, "requests": 12000,
            "errors": 120, "now_ms": T0 + 3600000}


VOID = {"meta", "br", "hr", "img", "input", "link"}


class Checker(HTMLParser):
    """Tag balance and what must not be there; keeps the text for the round trip."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.errors, self.tags = [], [], [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag in ("script", "iframe", "object", "embed", "img", "link", "base", "form"):
            self.errors.append(f"element <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("href", "src", "xlink:href", "action"):
                self.errors.append(f"attribute {name}={value!r} on <{tag}>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        for name, _ in attrs:
            if name.startswith("on"):
                self.errors.append(f"attribute {name} on <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def render(tmp):
    assert RENDER and os.path.exists(RENDER), "TG_REPORT_RENDER is not set (run through ctest)"
    src = os.path.join(tmp, "incident.json")
    with open(src, "w") as f:
        json.dump(fixture(), f)
    out_html, out_md = os.path.join(tmp, "report.html"), os.path.join(tmp, "report.md")
    subprocess.run([RENDER, src, out_html, out_md], check=True, timeout=30)
    with open(out_html, encoding="utf-8") as f:
        page = f.read()
    with open(out_md, encoding="utf-8") as f:
        md = f.read()
    return out_html, page, md


def check_html(page):
    p = Checker()
    p.feed(page)
    p.close()
    assert not p.errors, p.errors
    assert not p.stack, f"unclosed: {p.stack}"
    assert {"html", "head", "body", "table", "svg", "path", "line"} <= p.tags, p.tags
    text = "".join(p.text)
    # Each hostile string comes back whole, as text (the title's newline stays a newline;
    # the control character and CR LF are the writer's only changes).
    for s in (EVIL + "\nsecond line", "<img src=x onerror=alert(1)>", 'k"&=v<\'>', LONG,
              "fired\ufffd | a\nb", "deploy </svg> 1.2.3", "review <migrations>",
              '"notice" sent', "Index dropped by a migration & not restored\n# not a heading"):
        assert s in text, s[:80]
    assert "<script" not in page and "<img" not in page


def check_svg(page):
    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    root = ET.fromstring(page[start:end])
    assert root.tag == SVG_NS + "svg", root.tag
    paths = root.findall(f".//{SVG_NS}path")
    strokes = sorted(p.get("stroke") for p in paths)
    # The no-data gap splits each line in two.
    assert strokes == ["#1f6feb", "#1f6feb", "#8250df", "#8250df"], strokes
    texts = ["".join(t.itertext()) for t in root.iter(SVG_NS + "text")]
    assert "target 1000 ms" in texts, texts
    assert any(re.fullmatch(r"\d+ ms", t) for t in texts), texts
    assert any(re.fullmatch(r"\d\d:\d\d(:\d\d)?", t) for t in texts), texts
    titles = ["".join(t.itertext()) for t in root.iter(SVG_NS + "title")]
    assert any(t.endswith("BREAKER</text><script>x</script> /api/v1/system/circuit-breaker")
               for t in titles), titles
    assert sum("<img src=x onerror=alert(1)>" in t for t in titles) == 2, titles
    # Multi-byte text is kept whole in the tooltip and cut on a character in the label.
    assert any(t.endswith("TIMEOUTS" + "\u00e9" * 40 + " " + "/\u00e9\u4e2d" * 300)
               for t in titles), titles
    assert any(t.startswith("TIMEOUTS\u00e9") and t.endswith("\u2026") for t in texts), texts
    dashed = [l.get("stroke") for l in root.iter(SVG_NS + "line") if l.get("stroke-dasharray")]
    for colour in ("#1a7f37", "#cf222e", "#0a7f8f", "#e36209"):  # target, fired, resolved, action
        assert colour in dashed, (colour, dashed)


def check_markdown(md):
    """Every table row has as many cells as its header (unescaped pipes counted)."""
    tables, cur = [], []
    for line in md.split("\n"):
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            tables.append(cur)
            cur = []
    assert len(tables) >= 10, len(tables)
    cells = lambda l: len(re.findall(r"(?<!\\)\|", l))
    for t in tables:
        assert all(cells(l) == cells(t[0]) for l in t), t
    assert "\\<script\\>" in md and "<br>second line" in md
    assert not re.search(r"(?<!\\)<script", md)
    assert md.count("_not filled in_") >= 20 + 4 + 1  # checklist, follow-ups, lessons


def chromium():
    path = shutil.which("chromium")
    if not path and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "chromium"], timeout=900, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        path = shutil.which("chromium")
    assert path, ("chromium is not installed and could not be installed "
                  "(run scripts/install-deps.sh as root)")
    return path


def png_pixels(path):
    """(width, height, set of RGB colours) of an 8-bit RGB or RGBA PNG, decoded with zlib
    and the five PNG row filters."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    prev, colours = bytearray(stride), set()
    for y in range(h):
        ft, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif ft == 2:
            row = bytearray((a + b) & 0xFF for a, b in zip(row, prev))
        elif ft == 3:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ft == 4:
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                row[i] = (row[i] + pr) & 0xFF
        colours.update(zip(row[0::bpp], row[1::bpp], row[2::bpp]))
        prev = row
    return w, h, colours


def test_report_html_markdown_and_screenshot():
    tmp = tempfile.mkdtemp(prefix="tg-report-")
    out_html, page, md = render(tmp)
    check_html(page)
    check_svg(page)
    check_markdown(md)

    browser = chromium()
    shot = os.path.join(os.getcwd(), "report_render_screenshot.png")
    if os.path.exists(shot):
        os.unlink(shot)
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    # --no-sandbox: the test may run as root, where Chromium's sandbox refuses to start.
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--no-first-run", f"--user-data-dir={home}",
                        f"--screenshot={shot}", "--window-size=1200,2000",
                        "file://" + out_html],
                       capture_output=True, text=True, timeout=180,
                       env=dict(os.environ, HOME=home))
    assert os.path.exists(shot), f"no screenshot (exit {r.returncode}): {r.stderr[-2000:]}"
    w, h, colours = png_pixels(shot)
    print(f"screenshot: {shot} ({w}x{h}, {len(colours)} colours)")
    assert (w, h) == (1200, 2000), (w, h)
    assert len(colours) > 100, f"{len(colours)} colours: the page looks blank"
    assert P95_RGB in colours and P99_RGB in colours, "the chart's lines are not on the page"
    shutil.rmtree(tmp)


if __name__ == "__main__":
    run_tests()
