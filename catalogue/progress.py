"""How far a long management command has got, on its stderr.

When stderr is a terminal: a tqdm bar per phase, with the rate and the time left. Otherwise
(a log, a pipe, cron): a plain line at most every INTERVAL seconds, such as

    importing rows: 500/2,291 (312/s, about 6 s left)

and never one for a run shorter than that. Nothing at verbosity 0; at verbosity 2 a line as
each phase finishes. The commands' summaries stay on stdout.
"""

import time

from tqdm import tqdm


def raw(stream):
    """The stream under Django's OutputWrapper, which would end every write with a newline
    (a bar redraws itself with carriage returns)."""
    return getattr(stream, "_out", stream)


def is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def duration(seconds):
    """'6 s', '4 min', '2 h 5 min': roughly how long."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


class Progress:
    """tick() as work goes by, finished() when a phase ends, close() (or `with`) at the end.
    A phase is named by `what` ("importing rows"); a new name starts a new phase."""

    INTERVAL = 2.0  # seconds between plain lines

    def __init__(self, stderr, verbosity, started=None, unit="records"):
        self.stderr, self.verbosity, self.unit = stderr, verbosity, unit
        self.started = time.monotonic() if started is None else started
        self.terminal = is_terminal(stderr)
        self.bar = None
        self.what = None
        self.last = self.started

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def elapsed(self):
        return time.monotonic() - self.started

    def tick(self, what, done, total=None):
        """`done` of `total` (None: not known) of the phase `what` are done."""
        if self.verbosity < 1:
            return
        if what != self.what:
            self.start(what, total)
        if self.terminal:
            if total is not None and self.bar.total != total:
                self.bar.total = total
            self.bar.update(done - self.bar.n)
            return
        now = time.monotonic()
        if now - self.last >= self.INTERVAL:
            self.last = now
            self.stderr.write(self.line(what, done, total, now))

    def start(self, what, total):
        self.close()
        self.what = what
        # The first plain line of a phase comes INTERVAL into it, with a rate worth reading.
        self.phase_started = self.last = time.monotonic()
        if self.terminal:
            self.bar = tqdm(
                total=total,
                desc=f"  {what}",
                unit=f" {self.unit}",
                file=raw(self.stderr),
                dynamic_ncols=True,
                mininterval=0.2,
            )

    def line(self, what, done, total, now):
        rate = done / max(now - self.phase_started, 1e-9)
        if total is None:
            return f"  {what}: {done:,} ({rate:,.0f}/s)"
        left = f", about {duration((total - done) / rate)} left" if rate and done < total else ""
        return f"  {what}: {done:,}/{total:,} ({rate:,.0f}/s{left})"

    def finished(self, what, done):
        """A phase is done; reported at verbosity 2."""
        self.close()
        if self.verbosity >= 2:
            self.stderr.write(f"  {what}: {done:,} ({self.elapsed():.1f} s)")

    def close(self):
        """End the bar, if there is one, so that what is written next starts a line."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.what = None
