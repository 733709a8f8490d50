"""The gallery a person opens first, in a real headless Chromium (Debian's chromium + chromedriver,
driven by selenium): every image decodes, no link is `#` or script, the layout holds at 390 px
and 1280 px, hostile text is shown as text."""
import json
import os
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ROOT

TITLE = 'Pioneers <script>alert(1)</script> "quoted" & ünïcode'


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_video):
    out = tmp_path_factory.mktemp("gallery") / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}
    r = subprocess.run([sys.executable, "-m", "autoposter.cli", "run", str(sample_video), "--out", str(out),
                        "--template", "streaming,minimal", "--top", "2", "--title", TITLE, "--debug", "--quiet",
                        "--link", "https://example.com/watch?v=42&t=1"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = out / "latest"                                  # the set the folder's link points at
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(out)))
    httpd.RequestHandlerClass.log_message = lambda *a: None
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html", out
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    driver_path, chromium = shutil.which("chromedriver"), shutil.which("chromium")
    if not (driver_path and chromium):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    yield d
    d.quit()


PROBE = """
const imgs = [...document.images];
return {images: imgs.length, broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
        links: [...document.links].map(a => a.getAttribute('href')),
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        widest: Math.max(...imgs.map(i => i.getBoundingClientRect().width)),
        scripts: document.scripts.length, h1: document.querySelector('h1').textContent,
        formats: [...document.querySelectorAll('#formats tr')].slice(1).map(r => [...r.cells].map(c => c.textContent)),
        text: document.body.innerText};
"""


@pytest.mark.parametrize("width", [390, 1280])
def test_gallery_in_headless_chromium(served, browser, width):
    url, out = served
    manifest = json.loads((out / "manifest.json").read_text())
    browser.set_window_size(width, 900)
    browser.get(url)
    browser.execute_script("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
    browser.execute_script("return Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
    r = browser.execute_script(PROBE)
    assert r["images"] == len(manifest["posters"]) and r["broken"] == []          # every image decodes
    assert r["scripts"] == 0 and r["h1"] == TITLE                                   # hostile text stays text
    assert r["links"] and not [h for h in r["links"] if not h or h.startswith(("#", "javascript:"))]
    assert "contact_sheet.jpg" in r["links"] and "manifest.json" in r["links"]
    assert any(h.startswith("debug/") for h in r["links"])
    asked = {(f["template"], f["scenario"]) for f in manifest["formats"]}
    assert asked == {(t, sc) for t in ("streaming", "minimal") for sc in ("story", "feed", "portrait", "landscape",
                                                                           "cover")}
    shown = {(row[0], row[1]): row for row in r["formats"]}                     # Q8: every format asked, and
    assert set(shown) == asked                                                   # what came back or why not
    for f in manifest["formats"]:
        row = shown[(f["template"], f["scenario"])]
        assert row[3] == str(f["count"]) and (f["count"] or row[4].strip())
    fits = [p for p in manifest["posters"] if p.get("mode") == "fit"]          # fit posters say so
    assert r["text"].count("fit: ") == len(fits)
    assert r["overflow"] <= 1                                                       # no sideways scrolling
    assert r["widest"] <= width and (width < 600 or r["widest"] >= 200)             # thumbnails fit the page
    browser.save_screenshot(str(out / f"gallery_{width}.png"))


def test_gallery_without_a_link_points_at_the_posters(tmp_path):
    from autoposter.gallery import gallery_html
    m = {"video": {"title": "t", "link": ""}, "posters": [
        {"template": "x", "scenario": "feed", "path": "x/feed/01.jpg", "width": 10, "height": 10, "rank": 1,
         "frame_time": 1.0, "scores": {"total": 0.5, "sharpness": 0.5, "expression": None, "aesthetics": 0.5}}]}
    page = gallery_html(m)
    assert 'href="#"' not in page and 'href="x/feed/01.jpg"' in page and "no link given" in page
