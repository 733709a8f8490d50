"""Write shared/autoposter/assets/fonts/coverage.json: the code points each bundled font draws.

Run after changing a bundled font (fontTools is a development dependency; the runtime reads the
JSON, so the Lambda layers need no font parser):

    python scripts/font_coverage.py [--check]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))
OUT = ROOT / "shared" / "autoposter" / "assets" / "fonts" / "coverage.json"


def ranges(codepoints) -> list[list[int]]:
    out = []
    for cp in sorted(codepoints):
        if out and cp == out[-1][1] + 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def text() -> str:
    from fontTools.ttLib import TTCollection, TTFont

    from autoposter.templates import FONTS
    doc = {}
    for key, path in FONTS.items():
        font = TTCollection(str(path)).fonts[0] if path.suffix == ".ttc" else TTFont(str(path))
        doc[key] = {"file": path.name, "ranges": ranges(font.getBestCmap())}
    return json.dumps(doc, separators=(",", ":")) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == text() else 1)
    OUT.write_text(text())
    print(f"wrote {OUT}")
