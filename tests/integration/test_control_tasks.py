# SPDX-License-Identifier: MIT
"""The control thread's tick scheduler as /metrics shows it: each periodic task (today the
1 s metrics merge, task="metrics") has `tailguard_control_task_runs_total`,
`tailguard_control_task_overruns_total` (counters) and
`tailguard_control_task_duration_seconds` (the last run, a gauge). Over a few seconds the
merge runs about once a second and never more than once per second boundary (missed ticks
are skipped, not queued), and a run of an idle gateway's merge takes well under a second.
"""
import re
import time

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"


def scrape(admin):
    st, _, body = http("GET", f"http://{HOST}:{admin}/metrics", timeout=10)
    assert st == 200, (st, body[:300])
    return body.decode()


def sample(text, name, task="metrics"):
    m = re.search(rf'^{name}\{{task="{task}"\}} (\S+)$', text, re.M)
    assert m, f"no {name}{{task=\"{task}\"}} in:\n" + "\n".join(
        l for l in text.splitlines() if "control_task" in l)
    return float(m.group(1))


def test_metrics_task_figures():
    port, admin, dead = free_port(), free_port(), free_port()
    with gateway(port, admin, [dead]):
        first = scrape(admin)
        for name, kind in (("tailguard_control_task_runs_total", "counter"),
                           ("tailguard_control_task_overruns_total", "counter"),
                           ("tailguard_control_task_duration_seconds", "gauge")):
            assert f"# TYPE {name} {kind}\n" in first, name
            assert f"# HELP {name} " in first, name
        t0 = time.monotonic()
        runs0 = sample(first, "tailguard_control_task_runs_total")
        # Wait for at least three more runs, so a merge that stopped running fails here.
        wait_until(lambda: sample(scrape(admin), "tailguard_control_task_runs_total")
                   >= runs0 + 3, timeout=scaled(8, 15), what="three more metrics runs")
        text = scrape(admin)
        elapsed = time.monotonic() - t0
        runs = sample(text, "tailguard_control_task_runs_total") - runs0
        # Runs are on second boundaries: at most one per boundary passed, plus the one
        # that may fall between the first scrape and t0.
        assert 3 <= runs <= int(elapsed) + 2, (runs, elapsed)
        assert sample(text, "tailguard_control_task_overruns_total") >= 0
        assert 0 <= sample(text, "tailguard_control_task_duration_seconds") < 1.0


if __name__ == "__main__":
    run_tests()
