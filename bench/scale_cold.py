"""bench/coldpath.py with fewer runs and the process's memory: for the scale measurements
(bench/scale.sh), where one cold page can take seconds.

Each URL: one unmeasured request, then SCALE_RUNS (default 3) requests each after cache.clear()
and search.forget() (median and min of the wall time reported), then SCALE_RUNS requests from
the cache. On a shared, busy machine wall times mostly measure the wait for a CPU, so each cold
request's CPU time is measured too: this process's plus its PostgreSQL backend's (read from
/proc/<backend pid>/stat, so PostgreSQL must run on the same machine and be readable; 10 ms
resolution). With the data in memory, that sum is about what the request takes on an idle
machine. After each URL the process's resident memory (VmRSS) and its peak so far (VmHWM) are
printed, so the memory a worker is left with after a page shows. Same settings and invocation
as coldpath.py (set DJANGO_CONN_MAX_AGE high, so one backend serves all requests); prints one
tab-separated line per URL:

    status url cold_median_ms cold_min_ms cpu_app_ms cpu_db_ms warm_ms bytes rss_mb peak_rss_mb
"""

import os
import statistics
import sys
import time

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from catalogue import search  # noqa: E402

RUNS = int(os.environ.get("SCALE_RUNS", "3"))
# SCALE_ONCE=1: one cold request per URL, no warm-up and no warm runs (for pages that take
# minutes; cap them with PGOPTIONS="-c statement_timeout=...").
ONCE = os.environ.get("SCALE_ONCE") == "1"


def memory():
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def backend_pid():
    """The PostgreSQL backend serving this process's connection, None when not connected."""
    return connection.connection.info.backend_pid if connection.connection else None


def backend_cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_MS  # utime + stime


def body_size(response):
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def main(urls):
    client = Client()
    print(
        "status\turl\tcold_median_ms\tcold_min_ms\tcpu_app_ms\tcpu_db_ms\twarm_ms\tbytes"
        "\trss_mb\tpeak_rss_mb"
    )
    for url in urls:
        if not ONCE:
            body_size(client.get(url))
        else:
            client.get("/healthz")  # connects nothing; imports and middleware only
            connection.ensure_connection()
        cold, cpu_app, cpu_db = [], [], []
        for _ in range(1 if ONCE else RUNS):
            cache.clear()
            search.forget()  # the process's memo of search matches, too
            pid = backend_pid()
            db_before = backend_cpu_ms(pid) if pid else None
            app_before = time.process_time()
            started = time.perf_counter()
            try:
                response = client.get(url)
                size = body_size(response)
            except Exception as error:  # a statement timeout, say
                print(
                    f"ERR\t{url}\t{(time.perf_counter() - started) * 1000:.0f} ms: "
                    f"{type(error).__name__}: {str(error).splitlines()[0]}",
                    flush=True,
                )
                break
            cold.append((time.perf_counter() - started) * 1000)
            cpu_app.append((time.process_time() - app_before) * 1000)
            if pid and backend_pid() == pid:
                cpu_db.append(backend_cpu_ms(pid) - db_before)
        if not cold:
            continue
        started = time.perf_counter()
        for _ in range(0 if ONCE else RUNS):
            body_size(client.get(url))
        warm = float("nan") if ONCE else (time.perf_counter() - started) * 1000 / RUNS
        rss, peak = memory()
        print(
            f"{response.status_code}\t{url}\t{statistics.median(cold):.0f}\t{min(cold):.0f}\t"
            f"{statistics.median(cpu_app):.0f}\t"
            f"{f'{statistics.median(cpu_db):.0f}' if cpu_db else '?'}\t"
            f"{warm:.1f}\t{size}\t{rss:.0f}\t{peak:.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
