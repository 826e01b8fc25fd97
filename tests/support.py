"""Helpers for tests that start or need something outside Python: a browser, PostgreSQL's
own binaries, a Redis server, gunicorn."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings


def require(condition, reason):
    """Fail on CI, skip elsewhere, when something the test needs is missing."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required on CI)", pytrace=False)
    pytest.skip(reason)


def free_port():
    """A loopback port the kernel says is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(directory, database_url):
    """The environment of an app server with production settings (DJANGO_DEBUG off) on
    `database_url`, its static files collected under `directory`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "GUNICORN_", "DATABASE_", "TEST_DATABASE"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="catalogue.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="test-only-" + "k" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_STATIC_ROOT=str(directory / "static"),
        DATABASE_URL=database_url,
    )
    return env


def manage(env, *command):
    """Run manage.py `command` in `env`; its output in the failure if it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"manage.py {' '.join(command)}:\n{done.stdout}{done.stderr}"


class Gunicorn:
    """gunicorn -c gunicorn.conf.py catalogue.wsgi, in its own process group."""

    def __init__(self, env, directory):
        self.port = free_port()
        self.stdout = directory / "gunicorn.out"
        self.stderr = directory / "gunicorn.err"
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "2",
            "PYTHONUNBUFFERED": "1",
        }
        self.process = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "catalogue.wsgi"],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.stderr.read_text()}"
            with contextlib.suppress(OSError):
                if fetch(self.base_url, "/healthz")[0] == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within 30 s:\n{self.stderr.read_text()}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def log_lines(self):
        """Django's log lines (stdout): every one must be a JSON object."""
        return [json.loads(line) for line in self.stdout.read_text().splitlines() if line]

    def workers_booted(self):
        return self.stderr.read_text().count("Booting worker")


def fetch(base_url, path, headers=None):
    """(status, headers, body) for a GET, whatever the status."""
    request = urllib.request.Request(base_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode()


def postgres_bin():
    """PG_BIN, else the newest Debian cluster binaries, else the directory of pg_ctl on PATH."""
    candidates = [os.environ.get("PG_BIN", "")]
    candidates += sorted(
        (str(path) for path in Path("/usr/lib/postgresql").glob("*/bin")),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(str(Path(pg_ctl).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}{result.stderr}"
    return result


class Postgres:
    """A throwaway cluster in `directory`, on loopback at `port`."""

    def __init__(self, bin_dir, directory):
        self.bin_dir = bin_dir
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgresql.log"
        self.port = free_port()
        # PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(directory, "postgres", "postgres")

    def pg_ctl(self, *args):
        return run([*self.as_owner, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args])

    def initdb(self):
        run(
            [
                *self.as_owner,
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )

    # Fast and unsafe: a throwaway cluster need not survive a crash.
    FAST = " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

    def start(self, extra=FAST):
        """`extra`: more of postgres's command-line options (-c name=value)."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory}{extra}"
        self.pg_ctl("-l", str(self.log), "-w", "-o", options, "start")

    def stop(self, mode="fast"):
        self.pg_ctl("-m", mode, "-w", "stop")

    def running(self):
        pid = self.data / "postmaster.pid"
        return pid.exists()

    def url(self, database):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"
