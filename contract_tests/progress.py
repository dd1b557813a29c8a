"""The live view of a run: requests sent of the budget, credits at most spent, elapsed time.

On a terminal a rich progress line redraws itself (on the real stderr, beside pytest's own output,
and gone when the run ends); anywhere else (CI logs, pipes) one plain line per finished test. The
numbers are read from the run's one budget counter when drawn, so they are never behind. Only
counts and test names are shown, masked all the same with the project's one masking function.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.progress import Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Column
from rich.text import Text

from mock_server.server.secrets import mask_text

Counts = Callable[[], tuple[int, int]]  # () -> (requests sent, 2xx responses)


class _Requests(ProgressColumn):
    """A bar of requests sent against the cap, read from the budget each time it is drawn."""

    def __init__(self, cap: int | None, counts: Counts) -> None:
        super().__init__()
        self.cap, self.counts = cap, counts

    def render(self, task: Task) -> ProgressBar:
        used, _ = self.counts()
        return ProgressBar(total=self.cap, completed=used, width=20, pulse=self.cap is None)


class _Text(ProgressColumn):
    def __init__(self, text: Callable[[], str]) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self.text = text

    def render(self, task: Task) -> Text:
        return Text(self.text())


class LiveView:
    def __init__(
        self, cap: int | None, credit_cost: int, counts: Counts, secrets: list[str], stream: TextIO | None = None
    ) -> None:
        self.cap, self.cost, self.counts, self.secrets = cap, credit_cost, counts, secrets
        self.console = Console(file=stream or sys.__stderr__, highlight=False)
        self.started = time.monotonic()
        self.test = ""
        self.reporter: Any = None  # pytest's terminal reporter, which writes the plain lines
        self._progress: Progress | None = None
        self._task: Any = None

    @property
    def live(self) -> bool:
        return self.console.is_terminal

    def line(self) -> str:
        """'23/60 requests, at most 130 credits, 4.1 s'."""
        used, successes = self.counts()
        of = f"/{self.cap}" if self.cap is not None else ""
        credits = f"at most {successes * self.cost} credits" if self.cap is not None else "no credits (in-process)"
        return f"{used}{of} requests, {credits}, {time.monotonic() - self.started:.1f} s"

    def start(self) -> None:
        if not self.live or self._progress is not None:
            return
        self._progress = Progress(
            TextColumn("{task.description}", table_column=Column(no_wrap=True, max_width=24)),
            _Requests(self.cap, self.counts),
            _Text(lambda: self.line().rsplit(",", 1)[0]),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            refresh_per_second=8,
        )
        self._task = self._progress.add_task("starting", total=None)
        self._progress.start()

    def test_started(self, name: str) -> None:
        self.test = mask_text(name.split("::")[-1], self.secrets)
        self.start()  # at the first test: pytest's header is written by then
        if self._progress is not None:
            self._progress.update(self._task, description=self.test.removeprefix("test_")[:24])

    def plain(self) -> str:
        """The CI line of a finished test ("" on a terminal, where the live line says it)."""
        return "" if self.live else f"dumpling-contract: {self.line()} (after {self.test})"

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
