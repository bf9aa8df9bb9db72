# SPDX-License-Identifier: MIT
"""The dashboard's files as an HTTP client sees them on the admin listener (no browser;
test_dashboard.py drives a real one):

- `/` is the page, and every script and stylesheet it links is served from `/assets/`
  with the right Content-Type, byte for byte what web/ and the pinned charting library
  hold (the build embeds them);
- the headers that keep the page its own (CSP allowing only this origin, no framing, no
  sniffing, no-store) on every file;
- gzip only for a client that accepts it (weights honoured), decompressing to the same
  bytes, `Vary: Accept-Encoding`, an ETag per representation and a 304 for a matching
  If-None-Match (and not for the other representation's);
- unknown files 404, other methods 405, paths that try to leave the asset table
  (`..`, encoded slashes, NUL) 404, and the API paths still answer as before."""

import gzip
import os
import re

from tgtest import *

SRC = os.environ.get("TG_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))


def _start():
    up, port, admin = free_port(), free_port(), free_port()
    api = demo_api(up)
    try:
        gw = gateway(port, admin, [up])
    except BaseException:
        api.stop()
        raise
    return api, gw, f"http://127.0.0.1:{admin}"


def _assets(page):
    refs = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page)
    assert refs, "the page links no assets"
    return refs


def test_page_and_assets():
    api, gw, base = _start()
    with api, gw:
        status, h, body = http("GET", base + "/")
        assert status == 200, status
        assert h["Content-Type"] == "text/html; charset=utf-8", h["Content-Type"]
        with open(os.path.join(SRC, "web", "index.html"), "rb") as f:
            assert body == f.read(), "/ is not web/index.html"
        page = body.decode()
        types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
        for ref in _assets(page):
            status, h, data = http("GET", base + ref)
            assert status == 200, (ref, status)
            assert h["Content-Type"] == types[os.path.splitext(ref)[1]], (ref, h["Content-Type"])
            assert int(h["Content-Length"]) == len(data) > 0, ref
            rel = ref[len("/assets/"):]
            if not rel.startswith("vendor/"):
                with open(os.path.join(SRC, "web", rel), "rb") as f:
                    assert data == f.read(), f"{ref} differs from web/{rel}"
            else:
                assert b"uplot" in data.lower(), ref
            csp = h["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "script-src 'self'" in csp, csp
            assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp, csp
            assert h["X-Content-Type-Options"] == "nosniff", ref
            assert h["Cache-Control"] == "no-store", (ref, h.get_all("Cache-Control"))
            assert len(h.get_all("Cache-Control")) == 1, h.get_all("Cache-Control")


def test_gzip_and_etags():
    api, gw, base = _start()
    with api, gw:
        url = base + "/assets/vendor/uPlot.iife.min.js"
        _, plain_h, plain = http("GET", url)
        assert plain_h.get("Content-Encoding") is None
        assert plain_h["Vary"] == "Accept-Encoding", plain_h["Vary"]
        for ae in ("gzip", "gzip, deflate, br, zstd", "br;q=1, gzip;q=0.5", "*", "x-gzip"):
            status, h, data = http("GET", url, headers={"Accept-Encoding": ae})
            assert status == 200 and h["Content-Encoding"] == "gzip", (ae, h["Content-Encoding"])
            assert gzip.decompress(data) == plain, ae
            assert len(data) < len(plain) / 2, (len(data), len(plain))
            assert h["ETag"] != plain_h["ETag"], "one ETag for two representations"
        for ae in ("identity", "gzip;q=0", "*;q=0", "br", "gzip;q=7", ""):
            status, h, data = http("GET", url, headers={"Accept-Encoding": ae})
            assert h.get("Content-Encoding") is None and data == plain, ae

        gz_h = http("GET", url, headers={"Accept-Encoding": "gzip"})[1]
        status, h, data = http("GET", url, headers={"If-None-Match": plain_h["ETag"]})
        assert status == 304 and data == b"", status
        status, _, _ = http("GET", url, headers={"If-None-Match": gz_h["ETag"],
                                                 "Accept-Encoding": "gzip"})
        assert status == 304, status
        # The other representation's tag is not a match.
        status, _, data = http("GET", url, headers={"If-None-Match": gz_h["ETag"]})
        assert status == 200 and data == plain, status
        status, _, _ = http("GET", url, headers={"If-None-Match": '"nope", W/' + plain_h["ETag"]})
        assert status == 304, status
        # HEAD: the head alone.
        status, h, data = http("HEAD", url)
        assert status == 200 and data == b"" and int(h["Content-Length"]) == len(plain)


def test_refusals_and_neighbours():
    api, gw, base = _start()
    with api, gw:
        for path in ("/assets/", "/assets/nope.js", "/assets/../index.html",
                     "/assets/js/../index.html", "/assets/js%2Fcore.js", "/assets/js/core.js%00",
                     "/assets//js/core.js", "/index.html", "/assets/vendor"):
            status, h, body = http("GET", base + path)
            assert status == 404, (path, status)
        for method in ("POST", "PUT", "DELETE"):
            status, h, _ = http(method, base + "/", body=b"{}")
            assert status == 405 and "GET" in h["Allow"], (method, status)
        # The API is where it was.
        assert http_json("GET", base + "/api/v1/query?query=1")[0] == 200
        assert http("GET", base + "/metrics")[0] == 200
        assert http_json("GET", base + "/nope")[0] == 404
        # The retention the "all kept" range reads.
        _, _, flags = http_json("GET", base + "/api/v1/status/flags")
        assert flags["data"]["storage.tsdb.retention.time"] == "2h", flags
        _, _, info = http_json("GET", base + "/api/v1/status/runtimeinfo")
        assert info["data"]["storageRetention"] == "2h", info


if __name__ == "__main__":
    run_tests()
