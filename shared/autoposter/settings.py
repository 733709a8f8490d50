"""All tunables in one place, as nested dataclasses with documented defaults.

Every field can be set from the environment as ``AUTOPOSTER_<GROUP>_<FIELD>``
(for example ``AUTOPOSTER_SCORE_TOP_K=5``); ``autoposter settings`` prints the
full table with the current values.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from .cropping import CropSettings
from .errors import SettingsError
from .faces import FaceSettings
from .frames import FrameSettings
from .saliency import SaliencySettings
from .scoring import ScoreSettings


@dataclass(frozen=True)
class Settings:
    frames: FrameSettings = field(default_factory=FrameSettings)
    faces: FaceSettings = field(default_factory=FaceSettings)
    saliency: SaliencySettings = field(default_factory=SaliencySettings)
    crop: CropSettings = field(default_factory=CropSettings)
    score: ScoreSettings = field(default_factory=ScoreSettings)

    @classmethod
    def from_env(cls, env=None, **overrides) -> "Settings":
        """Defaults, then ``AUTOPOSTER_*`` variables, then ``overrides`` ({"score.top_k": 5})."""
        env = os.environ if env is None else env
        groups = {}
        for g in dataclasses.fields(cls):
            default = g.default_factory()
            values = {}
            for f in dataclasses.fields(default):
                key = f"AUTOPOSTER_{g.name}_{f.name}".upper()
                raw = overrides.get(f"{g.name}.{f.name}", env.get(key))
                if raw is None:
                    continue
                values[f.name] = _convert(raw, getattr(default, f.name), key)
            groups[g.name] = dataclasses.replace(default, **values)
        return cls(**groups)

    def table(self) -> list[tuple[str, str, object]]:
        rows = []
        for g in dataclasses.fields(self):
            group = getattr(self, g.name)
            for f in dataclasses.fields(group):
                rows.append((f"AUTOPOSTER_{g.name}_{f.name}".upper(), f"{g.name}.{f.name}",
                             getattr(group, f.name)))
        return rows


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
