"""The sweep's progress display: a rich bar with ETA and the latest median, or nothing.

An adaptive sweep grows the bar by each round's runs and names the round and what is still undecided."""
from typing import Optional

from .base import info
from .printable import printable


class SweepProgress:
    def __init__(self, total: int, enabled: bool = True, grows: bool = False):
        self.total = total
        self.enabled = enabled and (total > 0 or grows)
        self._progress = None
        self._task = None

    def __enter__(self):
        if self.enabled:
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
        return False

    def start(self, label: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, status=f"running {printable(label)}")

    def done(self, label: str, latency_ms: Optional[float]) -> None:
        if self._progress is not None:
            latest = f"{latency_ms:.3f} ms" if latency_ms is not None else "no device time"
            self._progress.update(self._task, advance=1, status=f"last: {printable(label)} -> {latest}")

    def failed(self, label: str, code: int, tail: str) -> None:
        if self._progress is not None:
            from rich.text import Text
            self._progress.console.print(Text.assemble(("failed", "red"),
                                                       f" {printable(label)} (exit {code}) {printable(tail)}"))

    def grow(self, runs: int, phase: str) -> None:
        """An adaptive round: `runs` more runs, the bar titled `phase` (e.g. 'round 2: 3 steps undecided')."""
        self.total += runs
        if self._progress is not None:
            self._progress.update(self._task, total=self.total, description=phase)

    def log(self, message: str) -> None:
        """A `cltrace:` line on stderr that does not tear the bar."""
        if self._progress is not None:
            self._progress.console.print(f"cltrace: {printable(message)}", markup=False, highlight=False,
                                         soft_wrap=True)
        else:
            info(printable(message))
