"""The soak's hostile phase (bench/soak): does a cached case study stay fast while a few
anonymous clients try to exhaust the server?

Against the production setup (gunicorn with the production limits, behind ops/nginx.conf), a
visitor at 127.0.0.2 loads one cached case study PROBE_RATE times a second, first alone, then
while hostile clients run, each from its own loopback address:
  - EXPORTERS clients downloading the full CSV export over and over, as fast as they can,
    trying again a second after each refusal (429), whatever Retry-After says;
  - SLOW clients sending a request's headers one line every two seconds (slowloris).
It prints one JSON object: the visitor's latencies in each part (p50, p90, p99, max, errors),
the ratio of the p99s, and what the hostile clients got.

Usage: python bench/soak_hostile.py BASE_URL CASE_STUDY_PATH
Settings (environment): SOAK_HOSTILE_DURATION seconds of each part [30],
SOAK_HOSTILE_EXPORTERS [8], SOAK_HOSTILE_SLOW [8].
"""

import http.client
import json
import os
import socket
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

DURATION = float(os.environ.get("SOAK_HOSTILE_DURATION", "30"))
EXPORTERS = int(os.environ.get("SOAK_HOSTILE_EXPORTERS", "8"))
SLOW = int(os.environ.get("SOAK_HOSTILE_SLOW", "8"))
PROBE_RATE = 4  # a second: under the per-client page rate (300 a minute)
VISITOR = "127.0.0.2"
# A downloader refused (429) tries again after this long, whatever Retry-After says, as a
# naive retry loop does. One that retries at once is a flood: the proxy refuses it at its own
# cost (ops/nginx.conf), and on this machine the flooding client would eat the cores itself.
REFUSED_RETRY = 1  # second


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else None


def connect(host, port, source, timeout=30):
    return http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0))


def probe(host, port, path, seconds):
    """The visitor's latencies (ms) over `seconds`, one request every 1/PROBE_RATE s."""
    latencies, errors = [], Counter()
    connection = connect(host, port, VISITOR, timeout=10)
    deadline = time.monotonic() + seconds
    next_at = time.monotonic()
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                latencies.append((time.monotonic() - started) * 1000)
            else:
                errors[str(response.status)] += 1
        except (OSError, http.client.HTTPException) as error:
            errors[type(error).__name__] += 1
            connection.close()
            connection = connect(host, port, VISITOR, timeout=10)
        next_at += 1 / PROBE_RATE
        time.sleep(max(0, next_at - time.monotonic()))
    connection.close()
    return {
        "requests": len(latencies) + sum(errors.values()),
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p90_ms": round(percentile(latencies, 90), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "errors": dict(errors),
    }


class Hostile:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.stop = threading.Event()
        self.exports = Counter()  # "200", "429", error names
        self.export_bytes = 0
        self.slow = Counter()  # "connections", "closed by the server"
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self.exporter, args=(f"127.0.0.{10 + n}",), daemon=True)
            for n in range(EXPORTERS)
        ] + [
            threading.Thread(target=self.slowloris, args=(f"127.0.0.{40 + n}",), daemon=True)
            for n in range(SLOW)
        ]

    def count(self, counter, key, size=0):
        with self.lock:
            counter[key] += 1
            self.export_bytes += size

    def exporter(self, source):
        while not self.stop.is_set():
            connection = connect(self.host, self.port, source, timeout=120)
            try:
                connection.request("GET", "/initiatives/export.csv")
                response = connection.getresponse()
                size = 0
                while chunk := response.read(65536):
                    size += len(chunk)
                    if self.stop.is_set():
                        break
                self.count(self.exports, str(response.status), size)
                if response.status != 200:
                    time.sleep(REFUSED_RETRY)
            except (OSError, http.client.HTTPException) as error:
                self.count(self.exports, type(error).__name__)
                time.sleep(0.1)
            finally:
                connection.close()

    def slowloris(self, source):
        while not self.stop.is_set():
            try:
                with socket.create_connection(
                    (self.host, self.port), timeout=5, source_address=(source, 0)
                ) as sock:
                    self.count(self.slow, "connections")
                    sock.sendall(b"GET /initiatives/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    line = 0
                    while not self.stop.wait(2):
                        line += 1
                        sock.sendall(f"X-Slow-{line}: yes\r\n".encode())
            except OSError:
                self.count(self.slow, "closed by the server")
                time.sleep(0.1)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(3)  # every client under way
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def main():
    base_url, path = sys.argv[1], sys.argv[2]
    parts = urlsplit(base_url)
    host, port = parts.hostname, parts.port or 80
    for _ in range(5):  # the page into the cache
        probe(host, port, path, 0.3)
    alone = probe(host, port, path, DURATION)
    with Hostile(host, port) as hostile:
        beset = probe(host, port, path, DURATION)
    ratio = (
        round(beset["p99_ms"] / alone["p99_ms"], 2) if alone["p99_ms"] and beset["p99_ms"] else None
    )
    print(
        json.dumps(
            {
                "path": path,
                "duration_s": DURATION,
                "probe_rate": PROBE_RATE,
                "exporters": EXPORTERS,
                "slow_clients": SLOW,
                "alone": alone,
                "beset": beset,
                "p99_ratio": ratio,
                "exports": dict(hostile.exports),
                "export_mb": round(hostile.export_bytes / 1e6, 1),
                "slow": dict(hostile.slow),
            }
        )
    )


if __name__ == "__main__":
    main()
