# SPDX-License-Identifier: MIT
"""Query parameters of the monitoring API (API.md): every value that is present but
unusable is a 400 with the JSON error naming the parameter, never taken as absent.

- `endpoint=` that does not decode (`%zz`, a lone `%`, a NUL byte as `%00`) or is too long.
- Every numeric parameter (`window` in plain seconds, `limit`, `min_duration_ms`) is plain
  decimal digits: a sign (a `+` decodes to a space), spaces, `1e3`, `0x10`, a fraction,
  an empty value, a NUL byte or a number past 64 bits are refused.
"""
from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"
MON = "/api/v1/monitoring"

NOT_DIGITS = ["", "+5", "%2B5", "+", "%205", "5%20", "%095", "5%00", "%005", "-0", "-5",
              "5.0", "1e3", "0x10", "5s5", "%zz", "%", "%D9%A3", "18446744073709551616",
              "99999999999999999999999"]

NUMERIC = [("/metrics/latency", "window"), ("/endpoints/stats", "window"),
           ("/requests/active", "limit"), ("/traces", "limit"), ("/traces", "min_duration_ms"),
           ("/slow-queries", "limit"), ("/slow-queries", "min_duration_ms")]


def expect_400(admin, path, field):
    st, h, v = http_json("GET", f"http://{HOST}:{admin}{MON}{path}")
    assert st == 400, (path, st, v)
    assert h.get("content-type") == "application/json", (path, h.get("content-type"))
    assert v["field"] == field and v["error"], (path, v)


def test_numbers_are_plain_digits():
    port, admin = free_port(), free_port()
    with gateway(port, admin, [f"{HOST}:{free_port()}"]):
        for path, field in NUMERIC:
            for bad in NOT_DIGITS:
                expect_400(admin, f"{path}?{field}={bad}", field)
            # the same value as the only bad one among good parameters
            expect_400(admin, f"{path}?x=1&{field}=+5&y=2", field)
        for path, field in NUMERIC:
            for ok in ("5", "%35", "005"):
                st, _, v = http_json("GET", f"http://{HOST}:{admin}{MON}{path}?{field}={ok}")
                assert st == 200, (path, field, ok, st, v)
        st, _, v = http_json("GET", f"http://{HOST}:{admin}{MON}/traces?min_duration_ms=0")
        assert st == 200 and v == [], (st, v)


def test_endpoint_that_does_not_decode():
    port, admin = free_port(), free_port()
    with gateway(port, admin, [f"{HOST}:{free_port()}"]):
        for bad in ("%zz", "%", "%4", "a%", "%00", "a%00b", "%G0", "x" * 300):
            expect_400(admin, f"/metrics/latency?endpoint={bad}", "endpoint")
            expect_400(admin, f"/metrics/latency?window=30&endpoint={bad}", "endpoint")
        # well-formed but unknown: 404 naming the field, as before
        st, _, v = http_json("GET", f"http://{HOST}:{admin}{MON}/metrics/latency"
                             "?endpoint=%2Fnope")
        assert st == 404 and v["field"] == "endpoint", (st, v)
        # no endpoint parameter at all: the whole gateway
        st, _, v = http_json("GET", f"http://{HOST}:{admin}{MON}/metrics/latency")
        assert st == 200 and v["current"]["count"] == 0, (st, v)


if __name__ == "__main__":
    run_tests()
