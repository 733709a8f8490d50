"""--out is all-or-nothing: a second run replaces the set whole, a live run's lock keeps another
out, SIGTERM in the middle leaves no staging folder and the previous set untouched."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from autoposter.errors import SettingsError
from autoposter.output import OutputDir
from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}


def run(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "autoposter.cli", "run", *map(str, args)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_a_second_run_replaces_the_previous_set(tmp_path, sample_video):
    out = tmp_path / "out"
    first = run(sample_video, "--out", out, "--template", "streaming", "--top", "2", "--quiet")
    assert first.wait(300) == 0, first.stderr.read()
    old = {p["path"] for p in json.loads((out / "manifest.json").read_text())["posters"]}
    (out / "notes.txt").write_text("mine")                       # not ours: must survive
    second = run(sample_video, "--out", out, "--template", "minimal", "--scenario", "feed", "--top", "1", "--quiet")
    assert second.wait(300) == 0, second.stderr.read()
    new = {p["path"] for p in json.loads((out / "manifest.json").read_text())["posters"]}
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*.jpg")}
    assert on_disk == new | {"contact_sheet.jpg"} and not (old & on_disk)
    assert (out / "notes.txt").read_text() == "mine" and not (out / "streaming").exists()
    assert not (out / ".autoposter.lock").exists()


def test_sigterm_midway_leaves_the_previous_set_and_no_staging(tmp_path, sample_video):
    out = tmp_path / "out"
    first = run(sample_video, "--out", out, "--template", "minimal", "--scenario", "feed", "--top", "1", "--quiet")
    assert first.wait(300) == 0
    before = sorted((str(p.relative_to(out)), p.stat().st_mtime_ns) for p in out.rglob("*"))
    p = run(sample_video, "--out", out, "--template", "streaming,cjk", "--debug")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out / ".autoposter.lock").exists():
        time.sleep(0.05)
    time.sleep(1.0)                                              # mid-analysis
    p.send_signal(signal.SIGTERM)
    assert p.wait(30) == 143
    assert "terminated" in p.stderr.read()
    after = sorted((str(q.relative_to(out)), q.stat().st_mtime_ns) for q in out.rglob("*"))
    assert after == before and not list(out.glob(".staging-*"))


def test_two_runs_cannot_share_an_output_folder(tmp_path):
    out = tmp_path / "out"
    with OutputDir(out):
        with pytest.raises(SettingsError) as busy:
            child = subprocess.run([sys.executable, "-c", f"""
import sys; sys.path.insert(0, {str(ROOT / 'shared')!r})
from autoposter.output import OutputDir
from autoposter.errors import SettingsError
try:
    OutputDir({str(out)!r}).__enter__()
except SettingsError as e:
    print(e.code); sys.exit(3)
"""], capture_output=True, text=True)
            assert child.returncode == 3 and child.stdout.strip() == "Settings::OutBusy"
            raise SettingsError("busy", code="Settings::OutBusy")
        assert busy.value.code == "Settings::OutBusy"
    (out / ".autoposter.lock").write_text("999999")                # a dead run's lock is taken over
    with OutputDir(out):
        assert (out / ".autoposter.lock").read_text() == str(os.getpid())
