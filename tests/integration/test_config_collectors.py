#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The collectors: section end to end: `tailguard check-config` accepts a full section and
refuses a DSN with a password (file:line:column, without repeating the password) and an
https probe; GET /api/v1/system/config shows the section with intervals resolved and
where each password comes from, never a password (not even one from the environment or a
file); SIGHUP applies a changed section, not keeping any of it for a restart."""
import os
import shutil
import signal
import subprocess
import tempfile

from tgtest import *

SECRET_ENV = "env-secret-5f1e"
SECRET_FILE = "file-secret-9c2a"


def _section(dead_port, host_enabled="true"):
    return ("collectors:\n"
            f"  host: {{enabled: {host_enabled}, interval: 2s}}\n"
            "  postgres:\n"
            f"    - dsn: \"host=127.0.0.1 port={dead_port} dbname=app user=app\"\n"
            "      password_file: pg.pass\n"
            "      interval: 3s\n"
            "  redis:\n"
            f"    - {{name: cache, addr: \"127.0.0.1:{dead_port}\", password_env: TG_TEST_RPASS,"
            " timeout: 1s}\n"
            "  probes:\n"
            f"    - {{service: api, url: \"http://127.0.0.1:{dead_port}/health\","
            " valid_status: [200, 204]}\n")


def _check_config(path):
    return subprocess.run([BIN, "check-config", path], capture_output=True, text=True,
                          timeout=30)


def test_check_config():
    d = tempfile.mkdtemp(prefix="tg-ccfg-")
    try:
        path = os.path.join(d, "tailguard.yaml")
        base = "upstreams: [{name: a, servers: [\"127.0.0.1:9\"]}]\n"
        with open(path, "w") as f:
            f.write(base + _section(free_port()))
        out = _check_config(path)
        assert out.returncode == 0 and out.stdout.strip() == f"{path}: ok", out
        with open(path, "w") as f:
            f.write(base + "collectors:\n  postgres:\n"
                    "    - {name: db, dsn: \"postgresql://app:" + SECRET_FILE + "@127.0.0.1/app\"}\n")
        out = _check_config(path)
        assert out.returncode == 1, out
        assert out.stderr.startswith(f"{path}:4:23: collectors.postgres[0].dsn: holds a "
                                     "password"), out.stderr
        assert SECRET_FILE not in out.stderr + out.stdout, out
        with open(path, "w") as f:
            f.write(base + "collectors:\n  probes: [{service: s, url: \"https://127.0.0.1/\"}]\n")
        out = _check_config(path)
        assert out.returncode == 1 and "3:30: collectors.probes[0].url: https is not supported" \
            in out.stderr, out.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _settings(admin):
    st, _, v = http_json("GET", f"http://127.0.0.1:{admin}/api/v1/system/config")
    assert st == 200, (st, v)
    return {s["key"]: s for s in v["settings"]}


def test_system_config_and_reload():
    d = tempfile.mkdtemp(prefix="tg-ccfg-")
    dead = free_port()
    try:
        with open(os.path.join(d, "pg.pass"), "w") as f:
            f.write(SECRET_FILE + "\n")
        path = os.path.join(d, "tailguard.yaml")
        with open(path, "w") as f:
            f.write(_section(dead) + "tsdb: {scrape_interval: 1s}\n")
        port, admin = free_port(), free_port()
        env = dict(os.environ, TG_TEST_RPASS=SECRET_ENV)
        with gateway(port, admin, [dead], config=path, env=env) as g:
            st, _, body = http("GET", f"http://127.0.0.1:{admin}/api/v1/system/config")
            text = body.decode()
            assert st == 200 and SECRET_ENV not in text and SECRET_FILE not in text, text
            s = _settings(admin)
            pg = s["collectors.postgres"]
            assert pg["layer"] == "file" and pg["live"] and not pg["control_api"], pg
            assert pg["value"] == [{
                "name": f"127.0.0.1:{dead}/app",
                "dsn": f"host=127.0.0.1 port={dead} dbname=app user=app",
                "password_file": os.path.join(d, "pg.pass"),
                "interval_ms": 3000, "timeout_ms": 3000,
                "statements": True, "statements_limit": 100}], pg
            rd = s["collectors.redis"]["value"][0]
            assert rd["password_env"] == "TG_TEST_RPASS" and rd["timeout_ms"] == 1000 \
                and rd["interval_ms"] == 1000, rd
            pr = s["collectors.probes"]["value"][0]
            assert pr["valid_status"] == [200, 204] and pr["method"] == "GET", pr
            assert s["collectors.host"]["value"]["enabled"] is True, s["collectors.host"]
            assert s["collectors.containers"]["layer"] == "default", s["collectors.containers"]
            # The file changes them, on reload.
            with open(path, "w") as f:
                f.write(_section(dead, host_enabled="false") + "tsdb: {scrape_interval: 1s}\n")
            g.send_signal(signal.SIGHUP)
            wait_until(lambda: _settings(admin)["collectors.host"]["value"]["enabled"] is False,
                       timeout=scaled(10), what="the reloaded collectors section")
            log = g.log()
            assert "reload-kept key=collectors" not in log, log[-2000:]
            assert SECRET_ENV not in log and SECRET_FILE not in log, log[-2000:]
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests()
