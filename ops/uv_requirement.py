"""Print the pip requirement for the uv that uv.lock pins, with every hash the lock records.

The Makefile bootstraps uv with it (`pip install --require-hashes -r`), so the uv that then
runs `uv sync --locked` is the lock's own, checked against its hashes like everything else:

    python ops/uv_requirement.py > .venv/uv-requirement.txt

Standard library only: it runs on the interpreter the virtualenv is made from.
"""

import sys
import tomllib
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "uv.lock"


def requirement(lock_path=LOCK):
    with open(lock_path, "rb") as lock_file:
        lock = tomllib.load(lock_file)
    for package in lock.get("package", []):
        if package["name"] == "uv":
            files = [*package.get("wheels", []), package.get("sdist", {})]
            hashes = sorted({entry["hash"] for entry in files if entry.get("hash")})
            if not hashes:
                break
            return f"uv=={package['version']} " + " ".join(f"--hash={h}" for h in hashes)
    sys.exit(f"{lock_path} pins no uv with hashes: add it with `uv add --dev uv==VERSION`.")


if __name__ == "__main__":
    print(requirement())
