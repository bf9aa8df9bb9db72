# SPDX-License-Identifier: MIT
"""peers: real servers from Debian's packages for the collectors' tests, on loopback.

    with Postgres() as pg:            # initdb in a temporary folder, pg_stat_statements
        pg.sql("SELECT 1")            #   preloaded; psql -At output as a string
        pg.port, pg.dsn, pg.postmaster_pid, pg.backend_pids()
    with Redis("--requirepass", "s") as r:   # redis-server, no persistence
        r.cli("INFO")                 # redis-cli output as a string
        r.port, r.pid
    exporter(args, port) -> started Proc waiting on its /metrics

PostgreSQL refuses to run as root: when the tests run as root the data folder belongs to
`nobody` and the server and its clients run as that user (setpriv, which execs, so the
Proc's pid is the postmaster's). Every process is a tgtest.Proc: stopped when its block
ends.
"""

import os
import pwd
import shutil
import subprocess
import tempfile

from tgtest import HOST, Proc, free_port, wait_until

PG_BIN = "/usr/lib/postgresql/15/bin"


def _as_nobody():
    """The command prefix that runs a program as `nobody` when we are root, else []."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


class Postgres:
    """A PostgreSQL 15 server in a temporary folder, listening on 127.0.0.1 only, trust
    authentication for the superuser `postgres`, pg_stat_statements preloaded (and
    created in the `postgres` database)."""

    def __init__(self, *settings, statements=True):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tg-pg-")
        self.data = os.path.join(self.dir, "data")
        self.settings = list(settings)
        self.statements = statements
        self.proc = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
        self.dsn = f"host={HOST} port={self.port} dbname=postgres user=postgres"

    def __enter__(self):
        subprocess.run(_as_nobody() + [f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres",
                                       "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       cwd=self.dir)
        args = _as_nobody() + [f"{PG_BIN}/postgres", "-D", self.data, "-p", str(self.port),
                               "-c", f"listen_addresses={HOST}",
                               "-c", f"unix_socket_directories={self.dir}",
                               "-c", "fsync=off", "-c", "max_connections=50"]
        if self.statements:
            args += ["-c", "shared_preload_libraries=pg_stat_statements",
                     "-c", "pg_stat_statements.track=all"]
        for s in self.settings:
            args += ["-c", s]
        self.proc = Proc(args, name="postgres", cwd=self.dir, expect_exit=None).start()
        self.proc.wait_port(self.port, timeout=30)
        wait_until(lambda: self._ready(), timeout=30, what="postgres accepting queries")
        if self.statements:
            self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return self

    def _ready(self):
        r = subprocess.run(self.psql_args("SELECT 1"), capture_output=True, text=True)
        return r.returncode == 0

    def psql_args(self, sql, db="postgres"):
        return ["psql", "-X", "-At", "-h", HOST, "-p", str(self.port), "-U", "postgres",
                "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql]

    def sql(self, sql, db="postgres", timeout=30):
        """Runs `sql` with psql; returns its -At output (rows on lines, columns by |)."""
        r = subprocess.run(self.psql_args(sql, db), capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"psql {sql!r}: {r.stderr.strip()}")
        return r.stdout.strip()

    def background(self, sql, db="postgres"):
        """Starts psql running `sql` without waiting; returns the Popen."""
        return subprocess.Popen(self.psql_args(sql, db), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    @property
    def postmaster_pid(self):
        return self.proc.pid

    def backend_pids(self):
        """Every process of the server (the postmaster's children included)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True).stdout.split()
        return [self.proc.pid] + [int(p) for p in out]

    def __exit__(self, *exc):
        try:
            if self.proc:
                self.proc.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A redis-server on 127.0.0.1 with no persistence; extra arguments are passed on
    (e.g. "--requirepass", "secret")."""

    def __init__(self, *args):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tg-redis-")
        self.args = list(args)
        self.password = None
        if "--requirepass" in self.args:
            self.password = self.args[self.args.index("--requirepass") + 1]
        self.proc = None

    def __enter__(self):
        self.proc = Proc(["redis-server", "--bind", HOST, "--port", str(self.port),
                          "--save", "", "--appendonly", "no", "--dir", self.dir,
                          "--protected-mode", "no"] + self.args,
                         name="redis", expect_exit=None).start()
        self.proc.wait_port(self.port, timeout=20)
        return self

    def cli(self, *cmd):
        args = ["redis-cli", "-h", HOST, "-p", str(self.port)]
        if self.password:
            args += ["--no-auth-warning", "-a", self.password]
        r = subprocess.run(args + [str(c) for c in cmd], capture_output=True, text=True,
                           timeout=10)
        if r.returncode != 0:
            raise AssertionError(f"redis-cli {cmd}: {r.stderr.strip()}")
        return r.stdout.strip()

    @property
    def pid(self):
        return self.proc.pid

    def __exit__(self, *exc):
        try:
            if self.proc:
                self.proc.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def exporter(args, port, env=None, name=None):
    """Starts an exporter (its command line `args`, listening on `port`) and waits until
    its /metrics answers 200. Returns the started Proc (use it in a with block)."""
    p = Proc(args, name=name or os.path.basename(args[0]), env=env, expect_exit=None).start()
    p.wait_http(f"http://{HOST}:{port}/metrics", timeout=30)
    return p
