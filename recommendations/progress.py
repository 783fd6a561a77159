"""A one-line progress bar for long-running management commands (generate_corpus, check_evidence_links)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """A one-line progress bar on standard error (a line per tenth when it is not a terminal)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def advance(self, n: int) -> None:
        self.done += n
        tenth = self.done * 10 // self.total
        if self.tty or tenth != self.shown or self.done >= self.total:
            self.shown = tenth
            filled = self.done * 30 // self.total
            elapsed = time.monotonic() - self.started
            line = (
                f"{self.label:<16} [{'#' * filled}{'.' * (30 - filled)}] "
                f"{self.done:>10,}/{self.total:,} {elapsed:6.1f} s"
            )
            sys.stderr.write(("\r" + line) if self.tty else (line + "\n"))
            if self.tty and self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
