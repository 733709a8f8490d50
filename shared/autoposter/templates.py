"""M8–M9: templates — declarative JSON files validated against a JSON schema.

``schema/template.schema.json`` is the one source of truth: jsonschema validates
against it (every keyword honoured, unknown fields refused), so editors can use the
same schema, and every error names the file, the field and what was expected, e.g. ``Template::FieldMissing: t.json: layers[2].region is missing
(expected [x, y, w, h] as fractions of the canvas, each in 0..1)``.
"""
from __future__ import annotations

import json
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

    @property
    def digest(self) -> str:
        """What scored crops depend on (name, scenarios, where fixed layers sit): a stored analysis is
        rescored for a template only when this differs."""
        import hashlib
        parts = [self.name, list(self.scenarios), {sc: self.fixed_fractions(sc) for sc in self.scenarios}]
        return hashlib.sha256(json.dumps(parts, default=float).encode()).hexdigest()[:12]

    def font_path(self, layer: Layer) -> Path:
        f = layer.style.get("font", "latin")
        return FONTS[f] if f in FONTS else (self.folder / f).resolve()


def _semantic_checks(doc: dict, folder: Path, src: str) -> None:
    def fail(where, msg, code="Template::FieldInvalid"):
        raise TemplateError(f"{src}: {where} {msg}", code=code)

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
        font = ly.get("style", {}).get("font")
        if font and font not in FONTS:
            if not _inside(folder, font, f"{where}.style.font", fail).is_file():
                fail(f"{where}.style.font", f"names {font!r}, which is neither latin, cjk nor a font file",
                     "Template::AssetMissing")


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


def image_size(path: Path, where: str) -> tuple[int, int]:
    """Width and height from a PNG or JPEG header, without decoding (a 30000×30000 asset is refused
    before anything allocates it). Other formats are ``Template::FieldInvalid``."""
    import struct

    with open(path, "rb") as f:
        head = f.read(32)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
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
                    h, w = struct.unpack(">xHH", f.read(5))
                    return w, h
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
    return Template(doc["name"], doc.get("description", ""), tuple(doc["scenarios"]), tuple(layers), folder)


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
    try:
        if p.stat().st_size > MAX_TEMPLATE_BYTES:
            raise TemplateError(f"{p}: {p.stat().st_size:,} bytes (expected at most {MAX_TEMPLATE_BYTES:,})",
                                code="Template::TooLarge")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{p}: cannot read ({exc.__class__.__name__})", code="Template::Unreadable") from exc
    from .inputs import LIMITS, json_depth
    if json_depth(text) > LIMITS["json_depth"]:
        raise TemplateError(f"{p}: nests deeper than {LIMITS['json_depth']} levels (a template needs 6)",
                            code="Template::Unparseable")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                            code="Template::Unparseable") from exc
    return parse(doc, p.parent, str(p))


def bundled_names() -> list[str]:
    return sorted(d.name for d in BUNDLED.iterdir() if (d / "template.json").is_file())
