"""Progress of long commands where stderr is not a terminal (``make``, pipes, notebooks'
subprocesses, CI logs): plain lines at a steady rhythm instead of a progress bar that
would print nothing until the end.

In a terminal the commands keep their Rich progress bars; elsewhere they print, for
example::

    baseline: year 2026 done (1/10 years, 12/120 sessions), 2.1 s, about 19 s left
    sweep: run 3/20 done (0 failed), 12.3 s, about 1 min 10 s left
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

MIN_INTERVAL_S = 1.0
"""Plain progress lines are at least this far apart (the last one always prints)."""


def duration(seconds: float) -> str:
    """``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def say(line: str) -> None:
    """One progress line on stderr, flushed at once (pipes buffer otherwise)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class PlainProgress:
    """Counts steps and prints a line with the elapsed time and an estimate of the rest.

    Args:
        total: Steps in all.
        describe: ``describe(done)`` words for the line's start (``"baseline: year 2026
            done (1/10 years)"``).
        every: Print only every ``every`` steps (e.g. once per simulated year), and the last.
        min_interval_s: Lines at least this far apart in time, except the last.
        clock: Time source (tests).
        write: Where lines go (default: stderr).
    """

    def __init__(self, total: int, describe: Callable[[int], str], every: int = 1,
                 min_interval_s: float = MIN_INTERVAL_S,
                 clock: Callable[[], float] = time.perf_counter,
                 write: Callable[[str], None] = say) -> None:
        self.total, self.describe, self.every = total, describe, max(1, every)
        self.min_interval_s, self.clock, self.write = min_interval_s, clock, write
        self.started = clock()
        self.last_line: float | None = None

    def update(self, done: int) -> None:
        """Record that ``done`` steps are finished; print a line when one is due."""
        if done <= 0 or (done % self.every and done < self.total):
            return
        now = self.clock()
        if (done < self.total and self.last_line is not None
                and now - self.last_line < self.min_interval_s):
            return
        self.last_line = now
        elapsed = now - self.started
        line = f"{self.describe(done)}, {duration(elapsed)}"
        if done < self.total:
            line += f", about {duration(elapsed / done * (self.total - done))} left"
        self.write(line)
