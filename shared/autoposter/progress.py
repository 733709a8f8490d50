"""A dependency-free progress bar on stderr (a line per 10 % when stderr is not a terminal)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, stream=None, width: int = 30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self.last_decile = -1

    def __call__(self, fraction: float, note: str = "") -> None:
        fraction = max(0.0, min(1.0, fraction))
        elapsed = time.monotonic() - self.start
        if self.tty:
            filled = int(self.width * fraction)
            bar = "█" * filled + "·" * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction * 100:5.1f}% {elapsed:6.1f}s {note}  ")
            self.stream.flush()
        else:
            decile = int(fraction * 10)
            if decile != self.last_decile:
                self.last_decile = decile
                self.stream.write(f"{self.label}: {fraction * 100:3.0f}% ({elapsed:.1f}s) {note}\n")
                self.stream.flush()

    def done(self, note: str = "done") -> None:
        if self.tty:
            self(1.0, note)
            self.stream.write("\n")
        else:
            self.stream.write(f"{self.label}: {note} ({time.monotonic() - self.start:.1f}s)\n")
        self.stream.flush()
