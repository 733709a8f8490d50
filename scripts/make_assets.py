"""Draw the bundled templates' logo assets (our own shapes, no third-party artwork).

    python scripts/make_assets.py
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
TPL = ROOT / "shared" / "autoposter" / "templates"
FONT = ROOT / "shared" / "autoposter" / "assets" / "fonts" / "DejaVuSans-Bold.ttf"


def logo(path: Path, word: str, colour: tuple, scale: int = 4) -> None:
    h = 60 * scale
    font = ImageFont.truetype(str(FONT), int(h * 0.55))
    tw = int(font.getlength(word))
    w = h + int(h * 0.25) + tw + int(h * 0.1)
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([0, 0, h - 1, h - 1], radius=h // 5, fill=(*colour, 255))
    d.polygon([(h * 0.36, h * 0.26), (h * 0.36, h * 0.74), (h * 0.76, h * 0.5)], fill=(255, 255, 255, 255))
    x = h + int(h * 0.25)
    for dx, dy, fill in ((3, 3, (0, 0, 0, 140)), (0, 0, (255, 255, 255, 255))):
        d.text((x + dx * scale // 2, h / 2 + dy * scale // 2), word, font=font, fill=fill, anchor="lm")
    im.save(path, optimize=True)


if __name__ == "__main__":
    logo(TPL / "streaming" / "logo.png", "STREAMFLIX", (229, 9, 20))
    logo(TPL / "cjk" / "logo.png", "AP", (0, 120, 215))
    print("logos written")
