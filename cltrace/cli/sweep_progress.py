"""The sweep's progress display: a rich bar with ETA and the latest median, or nothing."""
from typing import Optional


class SweepProgress:
    def __init__(self, total: int, enabled: bool = True):
        self.total = total
        self.enabled = enabled and total > 0
        self._progress = None
        self._task = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)
            self._progress = Progress(
                TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
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
            self._progress.update(self._task, status=f"running {label}")

    def done(self, label: str, latency_ms: Optional[float]) -> None:
        if self._progress is not None:
            latest = f"{latency_ms:.3f} ms" if latency_ms is not None else "no device time"
            self._progress.update(self._task, advance=1, status=f"last: {label} -> {latest}")

    def failed(self, label: str, code: int, tail: str) -> None:
        if self._progress is not None:
            self._progress.console.print(f"[red]failed[/] {label} (exit {code}) {tail}")
