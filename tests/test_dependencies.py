"""pyproject.toml declares the dependencies and uv.lock pins them, with hashes (README,
Dependencies). `make venv` installs with `uv sync --locked`, which refuses a lock that no longer
matches pyproject.toml; these tests say so sooner, without the network."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def uv():
    """The uv in this virtualenv: uv.lock's dev group pins it and `make venv` installs it."""
    path = Path(sys.prefix) / "bin" / "uv"
    assert path.exists(), (
        f"uv is not installed in {sys.prefix}: it is in pyproject.toml's dev group and "
        "`make venv` installs it from uv.lock. Run `make venv`."
    )
    return str(path)


def test_uv_lock_agrees_with_pyproject():
    result = subprocess.run(
        [uv(), "lock", "--check", "--offline", "--python", sys.executable],
        cwd=ROOT,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        "pyproject.toml and uv.lock disagree: a dependency was added or changed in one and not "
        "the other. Run `.venv/bin/uv lock` (or add it with `.venv/bin/uv add NAME==VERSION`) "
        f"and commit uv.lock with pyproject.toml.\n{result.stdout}{result.stderr}"
    )


def test_the_bootstrapped_uv_is_the_locked_one():
    """The Makefile installs uv with pip from the lock's hashes, then uv syncs itself: the
    version pinned in pyproject.toml, one hash per file the lock records."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (pin,) = [dep for dep in project["dependency-groups"]["dev"] if dep.startswith("uv==")]
    line = subprocess.run(
        [sys.executable, "ops/uv_requirement.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert line.split()[0] == pin
    hashes = line.split()[1:]
    assert len(hashes) > 1
    assert all(h.startswith("--hash=sha256:") for h in hashes)


def test_no_requirements_files_beside_the_lock():
    """Two lists of pins drift apart: uv.lock is the one (`uv export` makes a requirements
    file from it, should a deployment need one)."""
    assert not sorted(ROOT.glob("requirements*.txt"))
