"""M8–M9: templates — declarative JSON files validated against a JSON schema.

``schema/template.schema.json`` is the one source of truth: jsonschema validates
against it (every keyword honoured, unknown fields refused), so editors can use the
same schema, and every error names the file, the field and what was expected, e.g. ``Template::FieldMissing: t.json: layers[2].region is missing
(expected [x, y, w, h] as fractions of the canvas, each in 0..1)``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .cropping import SCENARIOS
from . import schemas
from .errors import TemplateError

PKG = Path(__file__).resolve().parent
BUNDLED = PKG / "templates"
SCHEMA_PATH = PKG / "schema" / "template.schema.json"
FONTS = {"latin": PKG / "assets" / "fonts" / "DejaVuSans-Bold.ttf",
         "cjk": PKG / "assets" / "fonts" / "wqy-microhei.ttc"}


def schema() -> dict:
    return schemas.load("template")


def validate(doc, source: str = "template") -> None:
    """Raise ``TemplateError`` naming the first problem (by field path); nothing on a valid document.

    jsonschema applies every keyword of ``schema/template.schema.json``; every object in it sets
    ``additionalProperties: false``, so an unknown or misspelt field is refused with its path."""
    schemas.check(doc, "template", source, TemplateError, "Template")


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str                     # "fixed" | "free"
    source: str                   # "asset" | "field" | "text" | "region"
    value: str                    # asset path, field name, literal text or region name
    region: tuple                 # fractions x, y, w, h
    size: tuple | None = None     # fractions w, h (free layers)
    aspect: float | None = None
    align: str = "center"
    style: dict = field(default_factory=dict)
    by_scenario: dict = field(default_factory=dict)

    def region_for(self, scenario: str) -> tuple:
        return tuple(self.by_scenario.get(scenario, {}).get("region", self.region))

    def size_for(self, scenario: str) -> tuple | None:
        s = self.by_scenario.get(scenario, {}).get("size", self.size)
        return tuple(s) if s else None

    @property
    def is_text(self) -> bool:
        return self.source in ("field", "text")


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    scenarios: tuple
    layers: tuple
    folder: Path
    fit: str = "auto"             # Q1/Q2/Q7: auto | never | contain (fitting.py)

    def asset_path(self, rel: str) -> Path:
        return (self.folder / rel).resolve()        # checked inside the folder at load time

    def layer_aspect(self, layer: "Layer", region) -> float:
        """A fixed layer's width/height: its ``aspect``, its asset's (read from the header, so no
        image library is needed), square for a frame region, else its placement region's."""
        if layer.aspect:
            return float(layer.aspect)
        if layer.source == "asset":
            w, h = image_size(self.asset_path(layer.value), layer.name)
            return w / h
        if layer.source == "region":
            return 1.0
        return region.w / region.h

    def fixed_fractions(self, scenario: str) -> list[tuple]:
        """Where this template's fixed layers sit on a ``scenario`` poster, as fractions (x, y, w, h):
        what the crop keeps off the faces (Q2). Sizes come from the layer's aspect or the asset's
        header, so no image library is needed here."""
        from .cropping import SCENARIOS
        from .layout import fixed_box, region_px

        sc = SCENARIOS[scenario]
        out = []
        for ly in self.layers:
            if ly.kind != "fixed":
                continue
            region = region_px(ly.region_for(scenario), sc.width, sc.height)
            b = fixed_box(region, self.layer_aspect(ly, region), ly.align)
            out.append((b.x / sc.width, b.y / sc.height, b.w / sc.width, b.h / sc.height))
        return out

    def free_fractions(self, scenario: str) -> list[tuple]:
        """Each free layer's placement region and size on a ``scenario`` poster, as fractions
        ((x, y, w, h), (w, h)): the crop's fit step (``fitting.py``) checks that a title has a spot
        off the people before it settles on a window."""
        return [(tuple(ly.region_for(scenario)), tuple(ly.size_for(scenario)[:2]))
                for ly in self.layers if ly.kind == "free" and ly.size_for(scenario)]

    @property
    def digest(self) -> str:
        """What scored crops depend on (name, scenarios, where fixed layers sit): a stored analysis is
        rescored for a template only when this differs."""
        import hashlib
        parts = [self.name, list(self.scenarios), {sc: self.fixed_fractions(sc) for sc in self.scenarios}]
        if self.fit != "auto" or any(self.free_fractions(sc) for sc in self.scenarios):
            parts += [self.fit, {sc: self.free_fractions(sc) for sc in self.scenarios}]
        return hashlib.sha256(json.dumps(parts, default=float).encode()).hexdigest()[:12]

    def font_path(self, layer: Layer) -> Path:
        f = layer.style.get("font", "latin")
        return FONTS[f] if f in FONTS else (self.folder / f).resolve()


def _walk(node, path=""):
    """(path, value) of every leaf of a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, node


def _semantic_checks(doc: dict, folder: Path, src: str) -> None:
    """What JSON Schema cannot say: finite numbers, drawable text, identifiers matched whole, rectangles
    inside the canvas, assets that decode, fonts that load."""
    def fail(where, msg, code="Template::FieldInvalid"):
        raise TemplateError(f"{src}: {where} {msg}", code=code)

    from .inputs import text_problem
    for where, v in _walk(doc):
        if isinstance(v, float) and not math.isfinite(v):
            fail(where, f"is {v} (expected a finite number)")
        if isinstance(v, str) and text_problem(v) and (v.strip() or where.endswith("source.text")):
            fail(where, f"{text_problem(v)} (expected text that can be drawn)")

    # JSON Schema patterns are searched, and "$" also matches before a final newline: identifiers and
    # colours are matched whole here ("mine\n" would make a folder with a newline in its name)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", doc["name"]):
        fail("name", f"is {json.dumps(doc['name'])[:40]} (expected a lower-case identifier such as \"streaming\")")
    names = set()
    for i, ly in enumerate(doc["layers"]):
        color = ly.get("style", {}).get("color")
        if color is not None and not re.fullmatch(r"auto|#[0-9a-fA-F]{6}", color):
            fail(f"layers[{i}].style.color", f"is {json.dumps(color)[:40]} (expected \"auto\" or \"#rrggbb\")")
        where = f"layers[{i}]"
        if ly["name"] in names:
            fail(f"{where}.name", f"repeats {ly['name']!r} (expected a name unique in the template)")
        names.add(ly["name"])
        regions = [("region", ly["region"])] + [(f"by_scenario.{k}.region", v["region"])
                                                for k, v in ly.get("by_scenario", {}).items() if "region" in v]
        for key, r in regions:
            if r[0] + r[2] > 1.0001 or r[1] + r[3] > 1.0001 or r[2] < 0.02 or r[3] < 0.02:
                fail(f"{where}.{key}", f"is {r} (expected a rectangle inside the canvas: x+w ≤ 1, y+h ≤ 1, "
                     "w and h at least 0.02)")
        for k in ly.get("by_scenario", {}):
            if k not in SCENARIOS:
                fail(f"{where}.by_scenario.{k}", f"is not a scenario (expected one of {', '.join(SCENARIOS)})")
        for sc in doc["scenarios"]:
            over = ly.get("by_scenario", {}).get(sc, {})
            boxes = [("region", over.get("region", ly["region"]))]
            if ly["kind"] == "free" and "size" in ly:
                boxes.append(("size", over.get("size", ly["size"])[:2]))
            for key, r in boxes:
                W, H = SCENARIOS[sc].width, SCENARIOS[sc].height
                w, h = r[-2] * W, r[-1] * H
                if not 0.05 <= w / h <= 20:
                    fail(f"{where}.{key}", f"is {round(w)}×{round(h)} px in scenario {sc!r} (expected a width/height "
                         "ratio within 1/20..20)")
        if ly["kind"] == "free":
            if "size" not in ly:
                fail(f"{where}.size", "is missing (expected [w, h] as fractions of the canvas for a free layer)",
                     "Template::FieldMissing")
            for sc in doc["scenarios"]:
                over = ly.get("by_scenario", {}).get(sc, {})
                r, s = over.get("region", ly["region"]), over.get("size", ly["size"])
                if s[0] > r[2] + 1e-6 or s[1] > r[3] + 1e-6:
                    fail(f"{where}.size", f"{s} does not fit its region {r} in scenario {sc!r} "
                         "(expected size ≤ region's w and h)")
        src_kind, value = next(iter(ly["source"].items()))
        if src_kind == "asset":
            path = _inside(folder, value, f"{where}.source.asset", fail)
            if not path.is_file():
                fail(f"{where}.source.asset", f"names {value!r}, which is not a file next to the template",
                     "Template::AssetMissing")
            w, h = image_size(path, f"{src}: {where}.source.asset")
            if w * h > MAX_ASSET_PIXELS:
                fail(f"{where}.source.asset", f"is {w}×{h} pixels (expected at most {MAX_ASSET_PIXELS // 1_000_000} "
                     "megapixels)")
            if not 0.05 <= w / h <= 20:
                fail(f"{where}.source.asset", f"is {w}×{h} pixels (expected an aspect ratio within 1/20..20)")
            _decodes(path, f"{where}.source.asset", fail)
        font = ly.get("style", {}).get("font")
        if font and font not in FONTS:
            fpath = _inside(folder, font, f"{where}.style.font", fail)
            if not fpath.is_file():
                fail(f"{where}.style.font", f"names {font!r}, which is neither latin, cjk nor a font file",
                     "Template::AssetMissing")
            _font_loads(fpath, f"{where}.style.font", fail)


def _decodes(path: Path, where: str, fail) -> None:
    """The whole asset decoded once now (its header alone was measured): a truncated or corrupt image
    is a template error before the video is opened, not a crash while composing."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            im.load()
            if min(im.size) < 1:
                raise ValueError("no pixels")
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error… on bad data
        fail(where, f"{path.name} cannot be decoded ({type(exc).__name__}: {str(exc)[:60]}) (expected a whole "
             "PNG or JPEG image)")


def _font_loads(path: Path, where: str, fail) -> None:
    from PIL import ImageFont
    try:
        ImageFont.truetype(str(path), 24)
    except Exception as exc:  # OSError "unknown file format", ValueError…
        fail(where, f"{path.name} is not a font Pillow can load ({str(exc)[:60]}) (expected a TrueType or "
             "OpenType file)")


MAX_ASSET_PIXELS = 40_000_000
MAX_TEMPLATE_BYTES = 256 * 1024


def _inside(folder: Path, rel: str, where: str, fail) -> Path:
    """``rel`` resolved inside the template's folder, or ``Template::AssetOutside``."""
    base = folder.resolve()
    path = (base / rel).resolve()
    if Path(rel).is_absolute() or (path != base and base not in path.parents):
        fail(where, f"names {rel!r}, which lies outside the template's folder (expected a path inside it)",
             "Template::AssetOutside")
    return path


def _sized(w: int, h: int, path: Path, where: str) -> tuple[int, int]:
    if w < 1 or h < 1:
        raise TemplateError(f"{where}: {path.name} is {w}×{h} pixels (expected an image at least 1×1)",
                            code="Template::FieldInvalid")
    return w, h


def image_size(path: Path, where: str) -> tuple[int, int]:
    """Width and height from a PNG or JPEG header, without decoding (a 30000×30000 asset is refused
    before anything allocates it). Other formats are ``Template::FieldInvalid``."""
    import struct

    with open(path, "rb") as f:
        head = f.read(32)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
            return _sized(*struct.unpack(">II", head[16:24]), path, where)
        if head.startswith(b"\xff\xd8"):
            f.seek(2)
            while True:
                marker = f.read(2)
                if len(marker) < 2 or marker[0] != 0xFF:
                    break
                if marker[1] in (0xD8, 0x01) or 0xD0 <= marker[1] <= 0xD7:
                    continue
                seg = f.read(2)
                if len(seg) < 2:
                    break
                length = struct.unpack(">H", seg)[0]
                if 0xC0 <= marker[1] <= 0xCF and marker[1] not in (0xC4, 0xC8, 0xCC):
                    sof = f.read(5)
                    if len(sof) < 5:
                        break
                    h, w = struct.unpack(">xHH", sof)
                    return _sized(w, h, path, where)
                f.seek(length - 2, 1)
    raise TemplateError(f"{where}: {path.name} is not a PNG or JPEG image (expected one of those)",
                        code="Template::FieldInvalid")


def parse(doc, folder: Path, src: str) -> Template:
    validate(doc, src)
    _semantic_checks(doc, folder, src)
    layers = []
    for ly in doc["layers"]:
        kind, value = next(iter(ly["source"].items()))
        layers.append(Layer(
            name=ly["name"], kind=ly["kind"], source=kind, value=value,
            region=tuple(ly["region"]), size=tuple(ly["size"]) if "size" in ly else None,
            aspect=ly.get("aspect"), align=ly.get("align", "center"), style=dict(ly.get("style", {})),
            by_scenario={k: dict(v) for k, v in ly.get("by_scenario", {}).items()}))
    return Template(doc["name"], doc.get("description", ""), tuple(doc["scenarios"]), tuple(layers), folder,
                    doc.get("fit", "auto"))


def load(name_or_path: str | Path) -> Template:
    """A bundled template by name, or a template file by path."""
    p = Path(name_or_path)
    if not p.exists():
        bundled = BUNDLED / str(name_or_path) / "template.json"
        if bundled.is_file():
            p = bundled
        else:
            raise TemplateError(f"{name_or_path}: no such template file or bundled template "
                                f"(bundled: {', '.join(bundled_names())})", code="Template::NotFound")
    if p.is_dir():
        p = p / "template.json"
    from .inputs import LIMITS, json_depth, parse_json, read_regular
    raw = read_regular(p, MAX_TEMPLATE_BYTES, "template", "Template::Unreadable", TemplateError,
                       "Template::TooLarge")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateError(f"{p}: not UTF-8 text (expected a JSON file)", code="Template::Unreadable") from None
    if json_depth(text) > LIMITS["json_depth"]:
        raise TemplateError(f"{p}: nests deeper than {LIMITS['json_depth']} levels (a template needs 6)",
                            code="Template::Unparseable")
    try:
        doc = parse_json(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                            code="Template::Unparseable") from None
    except (ValueError, RecursionError) as exc:          # NaN, Infinity, a 5000-digit number
        raise TemplateError(f"{p}: not valid JSON ({str(exc).splitlines()[0][:80]})",
                            code="Template::Unparseable") from None
    return parse(doc, p.parent, str(p))


def load_all(names) -> list[Template]:
    """A job's templates, each loaded and checked; two with the same ``name`` are refused
    (``Template::Duplicate``): their posters would share one folder and one would silently vanish."""
    out, seen = [], {}
    for n in names:
        t = load(n)
        if t.name in seen:
            raise TemplateError(f"{n} and {seen[t.name]} are both named {t.name!r} (expected one template per "
                                "name; rename one)", code="Template::Duplicate")
        seen[t.name] = n
        out.append(t)
    return out


def bundled_names() -> list[str]:
    return sorted(d.name for d in BUNDLED.iterdir() if (d / "template.json").is_file())
