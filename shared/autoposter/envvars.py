"""One environment variable, parsed and range-checked: the parser every setting of the core and the cloud
goes through (``settings.py`` for the engine's tunables, ``models.py`` and the AWS config for theirs), in a
module of its own so that anything may use it without importing the settings' groups."""
from __future__ import annotations

import math

from .errors import SettingsError


def check_range(name: str, value, bounds: tuple, exclusive_low: bool = False) -> None:
    """A number (or each number of a tuple) finite and inside ``bounds``, else ``Settings::Invalid``."""
    lo, hi = bounds
    for v in value if isinstance(value, tuple) else (value,):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi) \
                or (exclusive_low and v <= lo):
            low = "(" if exclusive_low else "["
            raise SettingsError(f"{name}={v!r} is outside {low}{lo}, {hi}]", code="Settings::Invalid")


def env_value(env, name: str, default, bounds: tuple = (None, None)):
    """One environment variable of ``default``'s type, in ``bounds``: the parser every setting of the
    core and the cloud goes through (``Settings::Invalid`` naming the variable otherwise)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = _convert(raw, default, name)
    check_range(name, value, bounds)
    return value


def _convert(raw, default, key: str):
    if not isinstance(raw, str):
        return raw
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            return tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise SettingsError(f"{key}={raw!r} is not a valid {type(default).__name__}",
                            code="Settings::Invalid") from None
    return raw
