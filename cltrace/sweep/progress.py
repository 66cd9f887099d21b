"""The sweep's progress display: a rich bar with ETA and the latest median on a terminal, plain lines in a log,
or nothing.

On a terminal (stderr is a tty) a rich bar redraws in place. Anywhere else (a pipe, a log file, CI) a bar would be
cut off at an unknown width and its redraws would pile up, so the sweep prints plain `cltrace: sweep ...` lines
instead: one each time another tenth of the runs has finished, or when PLAIN_INTERVAL_S has passed since the last
line, whichever comes first, and one summary line at the end. An adaptive sweep grows the bar by each round's runs
and names the round and what is still undecided."""
import sys
import time
from typing import Optional

from ..printable import info
from ..printable import printable

PLAIN_INTERVAL_S = 30.0     # a plain progress line at least this often while runs finish...
PLAIN_STEPS = 10            # ...and one each time another 1/PLAIN_STEPS of the runs has finished


def clock_text(seconds: float) -> str:
    """H:MM:SS, as the bar prints elapsed time and ETA."""
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class SweepProgress:
    def __init__(self, total: int, enabled: bool = True, grows: bool = False, terminal: Optional[bool] = None,
                 stream=None, clock=time.monotonic):
        """`terminal`: None = a bar when stderr is a tty, plain lines otherwise; True/False force either.
        `stream` (default sys.stderr when entered) and `clock` are where plain lines go and what times them."""
        self.total = total
        self.enabled = enabled and (total > 0 or grows)
        self.terminal = terminal
        self.stream = stream
        self.clock = clock
        self._progress = None
        self._task = None
        self._plain = False
        self._done = 0
        self._failed = 0
        self._t0 = self._last_line = 0.0
        self._last_step = 0
        self._latest = ""

    def __enter__(self):
        if self.enabled:
            if self.stream is None:
                self.stream = sys.stderr
            terminal = self.terminal
            if terminal is None:
                terminal = bool(getattr(self.stream, "isatty", lambda: False)())
            if not terminal:
                self._plain = True
                self._t0 = self._last_line = self.clock()
                return self
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}", markup=False),
                console=Console(stderr=True), transient=False)
            self._progress.__enter__()
            self._task = self._progress.add_task("sweep", total=self.total, status="")
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)
        if self._plain:
            failed = f", {self._failed} failed" if self._failed else ""
            self._line(f"sweep finished: {self._done}/{self.total} runs in "
                       f"{clock_text(self.clock() - self._t0)}{failed}")
            self._plain = False
        return False

    def _line(self, text: str) -> None:
        self.stream.write(f"cltrace: {text}\n")
        self.stream.flush()

    def _plain_done(self) -> None:
        now = self.clock()
        step = self._done * PLAIN_STEPS // self.total if self.total > 0 else 0
        if step <= self._last_step and now - self._last_line < PLAIN_INTERVAL_S:
            return
        self._last_step, self._last_line = max(step, self._last_step), now
        elapsed = now - self._t0
        left = max(self.total - self._done, 0)
        eta = clock_text(elapsed / self._done * left) if self._done else "?"
        pct = f" ({100 * self._done // self.total}%)" if self.total > 0 else ""
        self._line(f"sweep {self._done}/{self.total} runs{pct}, {clock_text(elapsed)} elapsed, eta {eta}; "
                   f"last: {self._latest}")

    def start(self, label: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, status=f"running {printable(label)}")

    def done(self, label: str, latency_ms: Optional[float]) -> None:
        latest = f"{latency_ms:.3f} ms" if latency_ms is not None else "no device time"
        if self._progress is not None:
            self._progress.update(self._task, advance=1, status=f"last: {printable(label)} -> {latest}")
        elif self._plain:
            self._done += 1
            self._latest = f"{printable(label)} -> {latest}"
            self._plain_done()

    def failed(self, label: str, code: int, tail: str) -> None:
        if self._progress is not None:
            from rich.text import Text
            self._progress.console.print(Text.assemble(("failed", "red"),
                                                       f" {printable(label)} (exit {code}) {printable(tail)}"))
        elif self._plain:
            self._failed += 1
            self._line(f"failed {printable(label)} (exit {code}) {printable(tail)}".rstrip())

    def grow(self, runs: int, phase: str) -> None:
        """An adaptive round: `runs` more runs, the bar titled `phase` (e.g. 'round 2: 3 steps undecided')."""
        self.total += runs
        if self._progress is not None:
            self._progress.update(self._task, total=self.total, description=phase)
        elif self._plain:       # the tenths now count over the larger total
            self._last_step = self._done * PLAIN_STEPS // self.total if self.total > 0 else 0

    def log(self, message: str) -> None:
        """A `cltrace:` line on stderr that does not tear the bar."""
        if self._progress is not None:
            self._progress.console.print(f"cltrace: {printable(message)}", markup=False, highlight=False,
                                         soft_wrap=True)
        else:
            info(printable(message))
