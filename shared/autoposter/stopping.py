"""A stop asked for by a signal (SIGTERM, SIGHUP, SIGQUIT), honoured at the next safe point.

The handler raises ``SystemExit`` at once, which unwinds the run; but an exception raised inside a signal
handler lands wherever the main thread happens to be, and library code with a bare ``except`` (an
import, a C extension's wrapper) can swallow it. So the request is also remembered, and the pipeline
checks it between tasks and again just before a set is switched in: a run told to stop never publishes.
"""
from __future__ import annotations

_asked: list[int] = []


def ask(signum: int) -> None:
    """The signal handler's body: remember, then unwind now."""
    _asked.append(signum)
    raise SystemExit(128 + signum)


def check() -> None:
    """Raise ``SystemExit(128 + signal)`` if a stop was asked for (a no-op otherwise)."""
    if _asked:
        raise SystemExit(128 + _asked[0])
