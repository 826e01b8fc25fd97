"""Sample the memory of gunicorn's workers once a second, until gunicorn exits or SIGTERM.

Usage: python bench/soak_memory.py MASTER_PID OUTPUT.tsv

One line per worker per sample: unix time, pid, RSS and PSS in kB (PSS from
/proc/PID/smaps_rollup, empty where the kernel has none). PSS shares pages the workers
inherited from the master among them, so it is each worker's fair part of the memory in use.
"""

import signal
import sys
import time
from pathlib import Path


def children(master):
    """The processes whose parent is `master` (read from /proc/PID/stat, which every kernel
    has; /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == master:
            found.append(int(stat.parent.name))
    return sorted(found)


def kilobytes(path, field):
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return ""


def main(master, output):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(output, "a", buffering=1) as out:
        while Path(f"/proc/{master}").exists():
            now = time.time()
            for pid in children(master):
                rss = kilobytes(f"/proc/{pid}/status", "VmRSS")
                pss = kilobytes(f"/proc/{pid}/smaps_rollup", "Pss")
                if rss != "":
                    out.write(f"{now:.3f}\t{pid}\t{rss}\t{pss}\n")
            time.sleep(max(0.0, 1 - (time.time() - now)))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(int(sys.argv[1]), sys.argv[2])
