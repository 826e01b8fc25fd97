"""Slow clients meet nginx, not the workers (ops/nginx.conf).

A real gunicorn (gunicorn.conf.py, production settings, one worker with two threads) serves a
seeded SQLite catalogue, and a real nginx runs ops/nginx.conf in front of it. Eight sockets
send a request's headers one line every two seconds, as a slowloris client does. Straight to
gunicorn, they hold its threads and a visitor's page does not come; through nginx, the page
comes at once.
"""

import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.support import Gunicorn, free_port, manage, production_env, require

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SLOW_CLIENTS = 8
LINE_EVERY = 2  # seconds
VISITOR_TIMEOUT = 3  # seconds: far longer than a seeded page takes
API_RATE = 3


@pytest.fixture(scope="module")
def servers():
    require(Path(NGINX).exists(), "nginx is not installed (apt-get install nginx)")
    directory = Path(tempfile.mkdtemp(prefix="catalogue-slow-"))
    env = production_env(directory, f"sqlite:///{directory / 'catalogue.sqlite3'}")
    manage(env, "migrate", "-v", "0")
    manage(env, "seed_catalogue", "-v", "0")
    manage(env, "collectstatic", "--no-input", "-v", "0")
    app = Gunicorn(env, directory)
    app.env.update(WEB_CONCURRENCY="1", GUNICORN_THREADS="2", DJANGO_TRUSTED_PROXY_COUNT="1")
    app.env["DJANGO_RATE_API"] = f"{API_RATE}/min"  # small, for the forged-address test
    app.start()
    proxy_port = free_port()
    site = (settings.BASE_DIR / "ops" / "nginx.conf").read_text()
    # Both upstreams, pages and exports, at the one gunicorn (the file's default).
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app.port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{proxy_port};")
    (directory / "nginx.conf").write_text(
        f"""
        daemon off;
        master_process on;
        worker_processes 1;
        user root root;
        pid {directory}/nginx.pid;
        error_log {directory}/nginx-error.log warn;
        events {{ worker_connections 512; }}
        http {{
            access_log off;
            client_body_temp_path {directory}/client_body;
            proxy_temp_path {directory}/proxy;
            fastcgi_temp_path {directory}/fastcgi;
            uwsgi_temp_path {directory}/uwsgi;
            scgi_temp_path {directory}/scgi;
            {site}
        }}
        """
    )
    proxy = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(directory / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proxy.poll() is None, proxy.stderr.read().decode()
            try:
                with socket.create_connection(("127.0.0.1", proxy_port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not listen within 15 s"
                time.sleep(0.1)
        yield {"direct": app.base_url, "proxied": f"http://127.0.0.1:{proxy_port}"}
    finally:
        proxy.terminate()
        proxy.wait(timeout=15)
        app.stop()
        shutil.rmtree(directory, ignore_errors=True)


class SlowClients:
    """Sockets that send one header line every LINE_EVERY seconds and never finish."""

    def __init__(self, base_url, count):
        host, port = base_url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.count = count
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.send, daemon=True) for _ in range(count)]

    def send(self):
        while not self.stop.is_set():
            try:
                with socket.create_connection(self.address, timeout=5) as sock:
                    sock.sendall(b"GET /initiatives/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    line = 0
                    while not self.stop.wait(LINE_EVERY):
                        line += 1
                        sock.sendall(f"X-Slow-{line}: yes\r\n".encode())
            except OSError:
                continue  # closed by the server (nginx answers 408): come back, as they do

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(1)  # every socket connected and into its headers
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def visit(base_url, path="/initiatives/"):
    """(status, seconds) for a visitor's page, or (None, seconds) when it did not come."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(base_url + path, timeout=VISITOR_TIMEOUT) as response:
            response.read()
            return response.status, time.monotonic() - started
    except (TimeoutError, urllib.error.URLError) as error:
        if isinstance(error, urllib.error.HTTPError):
            return error.code, time.monotonic() - started
        return None, time.monotonic() - started


def test_without_the_proxy_slow_clients_hold_every_worker_thread(servers):
    # What ops/nginx.conf is for: without it, a visitor waits behind eight slow sockets.
    assert visit(servers["direct"])[0] == 200
    with SlowClients(servers["direct"], SLOW_CLIENTS):
        status, _ = visit(servers["direct"])
    assert status is None
    # Once they have gone, the server answers again.
    deadline = time.monotonic() + 30
    while visit(servers["direct"])[0] != 200:
        assert time.monotonic() < deadline


def test_behind_the_proxy_slow_clients_do_not_delay_anyone(servers):
    with SlowClients(servers["proxied"], SLOW_CLIENTS):
        answers = [visit(servers["proxied"], path) for path in ("/initiatives/", "/", "/insights/")]
    assert [status for status, _ in answers] == [200, 200, 200], answers
    assert max(seconds for _, seconds in answers) < 1.5, answers


def test_behind_the_proxy_a_forged_forwarded_address_does_not_escape_the_rate(servers):
    # Rates are per visitor (catalogue/limits.py): behind nginx that is the address nginx saw,
    # whatever a client writes in X-Forwarded-For itself.
    def api(forged):
        request = urllib.request.Request(
            servers["proxied"] + "/api/v1/initiatives/", headers={"X-Forwarded-For": forged}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.headers

    statuses = [api(f"203.0.113.{n}")[0] for n in range(API_RATE)]
    assert statuses == [200] * API_RATE
    status, headers = api("198.51.100.77")
    assert status == 429
    assert int(headers["Retry-After"]) >= 1
