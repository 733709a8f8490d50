"""All tunables in one place, as nested dataclasses with documented defaults.

Every field can be set from the environment as ``AUTOPOSTER_<GROUP>_<FIELD>``
(for example ``AUTOPOSTER_SCORE_TOP_K=5``); ``autoposter settings`` prints the
full table with the current values.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from .activearea import BarSettings
from .cropping import CropSettings
from .envvars import _convert, check_range, env_value  # noqa: F401 (the settings' parsers, re-exported)
from .errors import SettingsError
from .faces import FaceSettings
from .frames import FrameSettings
from .people import PeopleSettings
from .saliency import SaliencySettings
from .scoring import ScoreSettings


@dataclass(frozen=True)
class RunSettings:
    """How a job's work is divided: the same numbers on this machine and in the cloud (Q9)."""

    batch_size: int = 60              # frames per analysis batch (a Map item in the cloud); 30 cost 8 % more at 10 min of 1080p
    tolerated_failure: float = 20.0   # % of frames whose analysis may fail before nothing is published
    segment_seconds: float = 0.0      # s of video per extraction segment; 0 = sized by frames.worker_seconds
    workers: int = 0                  # processes on this machine (0 = one per core); the cloud ignores it


@dataclass(frozen=True)
class Settings:
    frames: FrameSettings = field(default_factory=FrameSettings)
    bars: BarSettings = field(default_factory=BarSettings)
    run: RunSettings = field(default_factory=RunSettings)
    faces: FaceSettings = field(default_factory=FaceSettings)
    people: PeopleSettings = field(default_factory=PeopleSettings)
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
        out = cls(**groups)
        out.check()
        return out

    def check(self) -> None:
        """Every numeric setting finite and inside its documented range (``RANGES``), else
        ``Settings::Invalid`` naming the variable — found before any video work starts."""
        for env_name, dotted, value in self.table():
            if dotted in CHOICES and value not in CHOICES[dotted]:
                raise SettingsError(f"{env_name}={value!r} is not one of {', '.join(CHOICES[dotted])}",
                                    code="Settings::Invalid")
            check_range(env_name, value, RANGES.get(dotted, (None, None)), dotted in EXCLUSIVE_LOW)
            default = getattr(getattr(Settings(), dotted.split(".")[0]), dotted.split(".")[1])
            if isinstance(default, tuple) and (not isinstance(value, tuple) or len(value) != len(default)):
                raise SettingsError(f"{env_name}={','.join(map(str, value)) if isinstance(value, tuple) else value!r}: "
                                    f"expected {len(default)} comma-separated numbers, like "
                                    f"{','.join(map(str, default))}", code="Settings::Invalid")
        sc = self.score
        if sc.w_sharpness + sc.w_expression + sc.w_aesthetics <= 0:
            raise SettingsError("AUTOPOSTER_SCORE_W_SHARPNESS, _W_EXPRESSION and _W_AESTHETICS are all 0: nothing "
                                "would rank the frames (expected at least one weight above 0)", code="Settings::Invalid")

    def table(self) -> list[tuple[str, str, object]]:
        rows = []
        for g in dataclasses.fields(self):
            group = getattr(self, g.name)
            for f in dataclasses.fields(group):
                rows.append((f"AUTOPOSTER_{g.name}_{f.name}".upper(), f"{g.name}.{f.name}",
                             getattr(group, f.name)))
        return rows


CHOICES = {"saliency.model": ("classical", "u2netp"), "frames.scan": ("auto", "full", "windows", "keys")}


# Documented ranges ("group.field": (low, high)); a tuple setting checks each of its values.
RANGES = {
    "frames.rate": (0, 30), "frames.probe_rate": (0, 60), "frames.cut_threshold": (0, 1),
    "frames.cut_delay": (0, 10), "frames.black_level": (0, 255), "frames.min_contrast": (0, 255),
    "frames.dup_distance": (0, 255), "frames.max_frames": (1, 1000), "frames.max_side": (64, 8192),
    "frames.min_side": (16, 4096),
    "faces.max_side": (64, 4096), "faces.min_face": (12, 1000), "faces.thresholds": (0, 1),
    "faces.factor": (0.3, 0.95), "faces.min_confidence": (0, 1),
    "saliency.work_width": (16, 512), "saliency.map_width": (16, 1024), "saliency.colour_weight": (0, 1),
    "saliency.center_prior": (0, 1), "saliency.prior_sigma": (0.01, 10), "saliency.threshold": (0, 1),
    "saliency.min_area": (0, 1),
    "crop.alpha": (0, 1), "crop.dilation": (1, 10),
    "score.sharpness_half": (0, 1e6), "score.sharpness_min": (0, 1), "score.expression_min": (0, 1),
    "score.w_sharpness": (0, 100), "score.w_aesthetics": (0, 100), "score.w_expression": (0, 100),
    "score.total_min": (0, 1), "score.top_k": (1, 50), "score.dup_bits": (0, 64), "score.feedback_weight": (0, 1),
    "score.measure_weights": (0, 1), "score.expression_model_weight": (0, 1), "score.quality_weight": (0, 1), "score.moment_gap": (0, 3600), "score.max_upscale": (1, 100), "score.upscale_penalty": (0, 1),
    "score.cut_penalty": (0, 1), "score.cover_penalty": (0, 1), "score.fit_penalty": (0, 1), "score.source_cut_penalty": (0, 1), "score.text_cover": (0, 1), "score.text_penalty": (0, 1),
    "crop.whole": (0.5, 1), "crop.outside": (0, 0.5), "crop.person_share": (0, 1), "crop.layer_cover": (0, 1), "crop.face_margin": (0, 1),
    "crop.fit_max_scale": (1, 4), "crop.seam_weight": (0, 10), "crop.seam_centre": (0, 1), "crop.head_clearance": (0, 1), "crop.head_clearance_min": (0, 0.2), "crop.fit_max_backdrop": (0, 0.9), "crop.fit_subject_backdrop": (0, 0.9),
    "frames.partial_share": (0, 1), "frames.oversample": (1, 10), "frames.worker_seconds": (1, 800),
    "frames.decode_cost": (0, 100), "frames.min_segment": (0.1, 3600), "frames.max_segment": (1, 86400),
    "frames.max_segments": (1, 10000), "frames.windows_from": (0, 3600),
    "frames.key_interval_max": (0, 600), "frames.keys_share": (0, 10), "frames.keys_seconds": (0, 200), "frames.keys_pack_mb": (1, 2048), "frames.window": (0.1, 60),
    "frames.window_lead": (0, 10),
    "bars.level": (0, 255), "bars.flat": (0, 255), "bars.min_bar": (0, 0.5), "bars.max_bar": (0, 0.5),
    "bars.symmetry": (0, 0.5), "bars.dark_shot": (0, 255), "bars.margin": (0, 0.1),
    "run.batch_size": (1, 200), "run.tolerated_failure": (0, 100), "run.segment_seconds": (0, 86400),
    "run.workers": (0, 256),
    "people.min_score": (0, 1), "people.candidate_score": (0, 1), "people.nms_iou": (0, 1), "people.max_people": (0, 50),
    "people.max_landmark_people": (0, 50), "people.roi_scale": (0.5, 3), "people.min_presence": (0, 1),
    "people.weak_min_presence": (0, 1), "people.min_visibility": (0, 1), "people.body_margin": (0, 1),
    "people.head_per_nose_ear": (0.1, 10), "people.head_per_eye_mouth": (0.1, 10), "people.head_per_shoulder": (0, 5),
    "people.head_per_shoulder_unseen": (0, 5), "people.head_top": (0, 10), "people.head_bottom": (0, 10),
    "people.head_half_width": (0, 10), "people.upper_body_head_along": (0, 2), "people.upper_body_head_height": (0, 5),
    "people.upper_body_head_width": (0, 5), "people.duplicate_iou": (0, 1),
    "people.tiles": (0, 6), "people.tile_overlap": (1, 3), "people.tile_min_score": (0, 1), "people.fine_tiles": (0, 8), "people.fine_min_score": (0, 1),
    "people.subject_explained": (0, 1), "people.subject_upright": (-5, 5), "people.subject_head_room": (0, 1),
    "score.missing_expression": (0, 1), "score.overlay_min": (0, 1), "score.overlay_full": (0, 1),
    "score.overlay_penalty": (0, 1),
    "saliency.shortlist": (0, 200), "saliency.disagree_iou": (0, 1),
}
EXCLUSIVE_LOW = {"frames.rate", "frames.probe_rate", "score.sharpness_half"}
