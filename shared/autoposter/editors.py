"""S14: an editor's levers over one video — pin a moment or a focus point, veto a poster, give titles per
language, ask for variants to A/B test — and what the method does with them.

``Overrides`` come from command-line flags, a JSON file (``schema/overrides.schema.json``: beside the
upload in the cloud, ``overrides/<key>.json``) or a console rerender; each is checked before any work.
Pins win over scores: the pinned moment (the analysed frame nearest the pinned time) or the crop
centred on the pinned focus point takes rank 1, and the manifest records who pinned it and what the
method would have chosen. A veto removes every crop of that moment (within half the moment gap).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from . import schemas
from .errors import SettingsError

SCENARIO_RE = r"(\*|story|feed|portrait|landscape|cover)"


class OverridesError(SettingsError):
    code = "Overrides::Invalid"


@dataclass(frozen=True)
class Pin:
    scenario: str                       # a scenario or "*"
    time: float | None = None           # s into the video
    focus: tuple | None = None          # (x, y) fractions of the frame
    template: str | None = None

    def matches(self, template: str, scenario: str) -> bool:
        return self.scenario in ("*", scenario) and self.template in (None, template)

    def to_dict(self) -> dict:
        d = {"scenario": self.scenario}
        if self.template:
            d["template"] = self.template
        if self.time is not None:
            d["time"] = self.time
        if self.focus is not None:
            d["focus"] = list(self.focus)
        return d


@dataclass(frozen=True)
class Veto:
    time: float
    scenario: str = "*"
    template: str | None = None

    def hits(self, template: str | None, scenario: str, t: float, gap: float) -> bool:
        return self.scenario in ("*", scenario) and self.template in (None, template) and abs(t - self.time) < gap

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "time": self.time} | ({"template": self.template} if self.template else {})


@dataclass(frozen=True)
class Overrides:
    author: str = ""
    pins: tuple = ()
    vetoes: tuple = ()
    languages: dict = field(default_factory=dict)      # code → {"title", "tagline"}

    def __bool__(self) -> bool:
        return bool(self.pins or self.vetoes or self.languages)

    def pin_for(self, template: str, scenario: str) -> Pin | None:
        hits = [p for p in self.pins if p.matches(template, scenario)]
        return max(hits, key=lambda p: (p.scenario != "*", p.template is not None)) if hits else None

    def pinned_times(self) -> list[float]:
        return sorted({p.time for p in self.pins if p.time is not None})

    def to_dict(self) -> dict:
        return {"author": self.author, "pins": [p.to_dict() for p in self.pins],
                "vetoes": [v.to_dict() for v in self.vetoes], "languages": self.languages}

    @classmethod
    def from_dict(cls, doc, source: str = "overrides") -> "Overrides":
        """Checked against the schema, then what a schema cannot say (finite numbers, clean text)."""
        from .inputs import check_text
        schemas.check(doc, "overrides", source, OverridesError, "Overrides")
        langs = {}
        for code, texts in (doc.get("languages") or {}).items():
            langs[code] = {k: check_text(k, v) for k, v in texts.items()}
            if not langs[code]["title"]:
                raise OverridesError(f"{source}: languages.{code}.title is empty (expected the title in that "
                                     "language)")
        pins = tuple(Pin(p["scenario"], _finite(p.get("time"), source), tuple(p["focus"]) if "focus" in p else None,
                         p.get("template")) for p in doc.get("pins", []))
        vetoes = tuple(Veto(_finite(v["time"], source), v.get("scenario", "*"), v.get("template"))
                       for v in doc.get("vetoes", []))
        return cls(check_text("author", doc.get("author", "")), pins, vetoes, langs)

    def merged(self, other: "Overrides") -> "Overrides":
        """``other``'s decisions on top of these (command-line flags over a file)."""
        return Overrides(other.author or self.author, self.pins + other.pins, self.vetoes + other.vetoes,
                         {**self.languages, **other.languages})


def _finite(v, source: str):
    if v is not None and not math.isfinite(v):
        raise OverridesError(f"{source}: a time is {v} (expected seconds into the video)")
    return v


def parse_pin(text: str) -> Pin:
    """``story@12.5``, ``story@12.5:0.4,0.3`` (time and focus), ``story:0.4,0.3`` (focus), ``*@12.5``,
    each optionally prefixed by a template: ``streaming/story@12.5``."""
    m = re.fullmatch(rf"(?:([a-z0-9][a-z0-9_-]*)/)?{SCENARIO_RE}(?:@(\d+(?:\.\d+)?))?(?::(\d*\.?\d+),(\d*\.?\d+))?", text)
    if not m or (m.group(3) is None and m.group(4) is None):
        raise OverridesError(f"--pin {text[:60]!r}: expected SCENARIO@SECONDS, SCENARIO:X,Y or SCENARIO@SECONDS:X,Y "
                             "(X, Y as fractions of the frame; SCENARIO may be *)")
    focus = None
    if m.group(4) is not None:
        focus = (float(m.group(4)), float(m.group(5)))
        if not all(0 <= v <= 1 for v in focus):
            raise OverridesError(f"--pin {text[:60]!r}: the focus point is outside the frame (expected 0..1)")
    return Pin(m.group(2), float(m.group(3)) if m.group(3) else None, focus, m.group(1))


def parse_veto(text: str) -> Veto:
    """``feed@3.0``, ``*@3.0``, ``streaming/feed@3.0``."""
    m = re.fullmatch(rf"(?:([a-z0-9][a-z0-9_-]*)/)?{SCENARIO_RE}@(\d+(?:\.\d+)?)", text)
    if not m:
        raise OverridesError(f"--veto {text[:60]!r}: expected SCENARIO@SECONDS (SCENARIO may be *, a template may "
                             "lead: streaming/feed@3.0)")
    return Veto(float(m.group(3)), m.group(2), m.group(1))


def parse_language(text: str) -> tuple[str, dict]:
    """``ar=العنوان`` or ``ar=title|tagline``."""
    code, sep, rest = text.partition("=")
    if not sep or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?", code):
        raise OverridesError(f"--language {text[:60]!r}: expected CODE=TITLE or CODE=TITLE|TAGLINE (CODE like ar, "
                             "zh-Hans)")
    title, _, tagline = rest.partition("|")
    from .inputs import check_text
    out = {"title": check_text("title", title)}
    if tagline:
        out["tagline"] = check_text("tagline", tagline)
    if not out["title"]:
        raise OverridesError(f"--language {code}: the title is empty")
    return code, out


def feedback_scores(feedback: dict | None) -> dict | None:
    """M13's feedback as ``select`` reads it: by ``scenario@seconds`` or by a poster's variant id."""
    return dict(feedback) if feedback else None


def apply_pins(chosen: dict, ov: Overrides, cands: list, refs: dict, results: dict, read, templates, settings,
               video: dict) -> dict:
    """Pins win over scores (S14): for each (template, scenario) with a pin, the pinned candidate takes rank 1
    — the analysed frame nearest the pinned time, its crop recentred on the pinned focus point if one was
    given — and the method's own choices follow, one moment each. Returns what each pin did (the
    manifest's ``pinned``: who, what, and what the method would have chosen)."""
    from .analysis import FrameResult, score_crops
    out = {}
    if not ov.pins:
        return out
    by_name = {t.name: t for t in templates}
    gap = settings.score.moment_gap
    tolerance = max(1.0, 0.5 / max(video.get("rate", 1.0), 1e-6))
    for (tname, sname), picked in chosen.items():
        pin = ov.pin_for(tname, sname)
        if pin is None:
            continue
        method = picked[0] if picked else None
        if pin.time is not None:
            fid = min(refs, key=lambda i: abs(refs[i].time - pin.time), default=None)
            if fid is None or abs(refs[fid].time - pin.time) > tolerance:
                near = ", ".join(f"{refs[i].time:.1f}" for i in sorted(refs, key=lambda i: abs(refs[i].time - pin.time))[:3])
                raise OverridesError(f"pin {sname}@{pin.time:g}: no analysed frame within {tolerance:g} s "
                                     f"(nearest: {near or 'none'}); pin it before the analysis (the overrides file "
                                     "beside the upload, or autoposter run --pin) to have that moment analysed",
                                     code="Pin::NotAnalysed")
        elif method is not None:
            fid = method.frame_index
        else:
            continue
        if pin.focus is not None:
            fr = FrameResult.from_dict(results[fid])
            img = read([refs[fid]])[fid]
            focus = (pin.focus[0] * fr.width, pin.focus[1] * fr.height)
            new = score_crops(img, fr, [sname], settings, [by_name[tname]], focus=focus)
            if not new:
                raise OverridesError(f"pin {sname}: frame {refs[fid].time:.1f}s cannot be cropped around its focus "
                                     "point (choose another focus)", code="Pin::Invalid")
            c = new[0]
        else:
            mine = [c for c in cands if c.frame_index == fid and c.scenario == sname and c.template in (None, tname)]
            if not mine:
                continue
            c = max(mine, key=lambda x: x.total)
        rest = [p for p in picked if abs(p.frame_time - c.frame_time) >= gap][:settings.score.top_k - 1]
        chosen[(tname, sname)] = [c] + rest
        out[(tname, sname)] = {"by": ov.author, **pin.to_dict(), "frame_time": round(c.frame_time, 3),
                               "method_choice": None if method is None else
                               {"frame_time": round(method.frame_time, 3), "crop": method.crop.to_list(None)}}
    return out
