"""Helpers for tests that start or need something outside Python: a browser, PostgreSQL's
own binaries, a Redis server."""

import os
import socket

import pytest


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
