"""--out is the user's folder: autoposter owns `.autoposter/` and the `latest` link, nothing else.
A set is switched in by one atomic rename, so a reader sees the old set or the new one however a run
ends — killed at every step of publishing, SIGTERM mid-analysis, a second run in the same folder."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoposter.errors import SettingsError
from autoposter.output import OutputDir
from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}


def run(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "autoposter.cli", "run", *map(str, args)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def complete(out: Path) -> str | None:
    """The set `latest` shows, if it is whole (its manifest and every file it names), else raise."""
    latest = out / "latest"
    if not os.path.lexists(latest):
        return None
    m = json.loads((latest / "manifest.json").read_text())
    for p in m["posters"]:
        assert (latest / p["path"]).is_file(), p["path"]
    assert (latest / "index.html").is_file()
    return m["video"]["title"]


def test_a_second_run_switches_sets_and_touches_nothing_of_the_users(tmp_path, sample_video):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"posters": [{"path": "thesis.docx"}]}')     # the user's, not ours
    (out / "thesis.docx").write_text("years of work")
    (out / "index.html").write_text("my page")
    mine = snapshot(out)
    first = run(sample_video, "--out", out, "--template", "streaming", "--top", "2", "--quiet", "--title", "one")
    assert first.wait(300) == 0, first.stderr.read()
    assert complete(out) == "one"
    second = run(sample_video, "--out", out, "--template", "minimal", "--scenario", "feed", "--top", "1", "--quiet",
                 "--title", "two")
    assert second.wait(300) == 0, second.stderr.read()
    assert complete(out) == "two"
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(".autoposter")} == mine
    assert sorted(p.name for p in out.iterdir()) == [".autoposter", "index.html", "latest", "manifest.json",
                                                    "thesis.docx"]
    sets = [d for d in (out / ".autoposter" / "sets").iterdir() if not d.name.startswith(".")]
    assert len(sets) == 2                                   # the previous set stays for readers still on it


def test_a_relative_out_folder_as_the_readme_writes_it(tmp_path, sample_video):
    """`--out posters` (README, make demo): the set's paths are checked as real paths, not as typed."""
    r = run(sample_video, "--out", "posters", "--template", "streaming", "--scenario", "feed", "--top", "1",
            "--quiet", "--title", "rel", cwd=tmp_path)
    assert r.wait(300) == 0, r.stderr.read()
    assert complete(tmp_path / "posters") == "rel"


def test_someone_elses_latest_is_never_replaced(tmp_path, sample_video):
    out = tmp_path / "out"
    out.mkdir()
    (out / "latest").write_text("a file of the user's")
    r = run(sample_video, "--out", out, "--quiet")
    assert r.wait(120) == 2 and "Settings::Out" in r.stderr.read()
    assert (out / "latest").read_text() == "a file of the user's" and sorted(os.listdir(out)) == ["latest"]


KILLER = r"""
import os, signal, sys
sys.path.insert(0, {shared!r})
from autoposter import output
from autoposter.output import OutputDir
files = {{f"streaming/feed/{{i:02d}}.jpg": (bytes([i]) * 5000, "image/jpeg") for i in range(4)}}
files["index.html"] = (b"<html>", "text/html")
manifest = lambda title: {{"video": {{"title": title}}, "posters": [{{"path": p}} for p in files if p.endswith(".jpg")]}}
with OutputDir({out!r}) as out:
    if {first}:
        out.publisher().publish(files, manifest("old"))
        sys.exit(0)
    steps = [0]
    def step(fn):
        def wrapped(*a, **k):
            steps[0] += 1
            if steps[0] == {kill_at}:
                os.kill(os.getpid(), signal.SIGKILL)
            return fn(*a, **k)
        return wrapped
    output.write_file = step(output.write_file)
    output._fsync_dir = step(output._fsync_dir)
    output.os = type("os", (), {{k: getattr(os, k) for k in dir(os) if not k.startswith("__")}})
    for name in ("rename", "replace", "symlink", "mkdir"):
        setattr(output.os, name, step(getattr(os, name)))
    out.publisher().publish(files, manifest("new"))
    print("steps", steps[0])
"""


def test_killed_at_every_step_of_publishing_readers_see_a_whole_set(tmp_path):
    """SIGKILL (as a power cut would) after each write, fsync, rename and link of a publish: `latest` always
    shows the old set whole or the new set whole, never a mix; the next run then publishes cleanly."""
    out = tmp_path / "out"

    def child(kill_at: int, first: bool = False):
        code = KILLER.format(shared=str(ROOT / "shared"), out=str(out), first=first, kill_at=kill_at)
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert child(0, first=True).returncode == 0 and complete(out) == "old"
    seen, k = set(), 1
    while True:
        r = child(k)
        if r.returncode == 0:
            total = int(r.stdout.split()[-1])
            break
        assert r.returncode == -signal.SIGKILL, r.stderr
        seen.add(complete(out))                          # raises if latest shows a half set
        k += 1
        assert k < 60
    assert total == k - 1 >= 8                            # every step of the publish was a kill point
    assert seen == {"old", "new"}                        # killed before the switch: old; after: new
    assert complete(out) == "new"
    with OutputDir(out):                                 # the lock a killed run held is free
        pass


def test_a_stop_at_any_step_of_publishing_leaves_the_old_set_or_the_new_one_only(tmp_path, monkeypatch):
    """A signal's SystemExit landing after any write, fsync, rename or link of a publish (in process, so
    the context manager unwinds): the folder is exactly as before, or the new set is switched in. No
    set this run renamed into place but never switched to is left behind."""
    from autoposter import output
    out = tmp_path / "out"
    files = {f"streaming/feed/{i:02d}.jpg": (bytes([i]) * 500, "image/jpeg") for i in range(3)}
    files["index.html"] = (b"<html>", "text/html")
    manifest = lambda t: {"video": {"title": t}, "posters": [{"path": p} for p in files if p.endswith(".jpg")]}  # noqa: E731
    with OutputDir(out) as o:
        o.publisher().publish(files, manifest("old"))
    real = {n: getattr(output, n) for n in ("write_file", "_fsync_dir")}
    real_os = {n: getattr(os, n) for n in ("rename", "replace", "symlink", "mkdir")}
    for k in range(1, 60):
        before = snapshot(out)
        steps = [0]

        def step(fn):
            def wrapped(*a, **kw):
                r = fn(*a, **kw)
                steps[0] += 1
                if steps[0] == k:
                    raise SystemExit(143)
                return r
            return wrapped
        for n, fn in real.items():
            monkeypatch.setattr(output, n, step(fn))
        fake_os = type("os", (), {n: getattr(os, n) for n in dir(os) if not n.startswith("__")})
        for n, fn in real_os.items():
            setattr(fake_os, n, step(fn))
        monkeypatch.setattr(output, "os", fake_os)
        try:
            with OutputDir(out) as o:
                o.publisher().publish(files, manifest(f"new{k}"))
            stopped = False
        except SystemExit:
            stopped = True
        finally:
            monkeypatch.undo()
        if not stopped:
            break
        now = complete(out)
        if now == f"new{k}":                                 # stopped after the switch: the new set is whole
            continue
        assert snapshot(out) == before, k                   # before it: nothing changed at all
    assert k > 8 and complete(out) == f"new{k}"


def test_sigterm_midway_leaves_the_folder_as_it_was(tmp_path, sample_video):
    out = tmp_path / "out"
    first = run(sample_video, "--out", out, "--template", "minimal", "--scenario", "feed", "--top", "1", "--quiet")
    assert first.wait(300) == 0
    before = snapshot(out)
    p = run(sample_video, "--out", out, "--template", "streaming,cjk", "--debug")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((out / ".autoposter" / "jobs").glob("*/.staging-*/segments/0*.json")):
        time.sleep(0.02)
    p.send_signal(signal.SIGTERM)                                # extracted, mid-analysis
    assert p.wait(60) == 143
    assert "SIGTERM: stopped" in p.stderr.read()
    assert snapshot(out) == before and not list(out.rglob(".staging-*"))


def test_a_failed_run_into_a_new_folder_leaves_nothing(tmp_path):
    bad = tmp_path / "grey.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000)
    r = run(bad, "--out", tmp_path / "new", "--quiet")
    assert r.wait(120) == 3 and not (tmp_path / "new").exists()


def test_two_runs_cannot_share_an_output_folder_and_a_dead_runs_lock_is_free(tmp_path):
    out = tmp_path / "out"
    code = f"""
import sys; sys.path.insert(0, {str(ROOT / 'shared')!r})
from autoposter.output import OutputDir
from autoposter.errors import SettingsError
try:
    OutputDir({str(out)!r}).__enter__()
except SettingsError as e:
    print(e.code); sys.exit(3)
"""
    with OutputDir(out):
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert child.returncode == 3 and child.stdout.strip() == "Settings::OutBusy"
    holder = subprocess.Popen([sys.executable, "-c", code.replace("__enter__()", "__enter__(); import time; "
                                                                               "time.sleep(60)")])
    time.sleep(2.0)
    holder.kill()                                          # SIGKILL: no cleanup ran
    holder.wait()
    with OutputDir(out):                                   # the kernel dropped its lock
        pass
    (out / ".autoposter" / "lock").write_text(str(2 ** 80))  # whatever the file holds, it is not trusted
    with OutputDir(out):
        pass


def test_out_that_is_a_file_or_empty_is_refused(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    for bad in (f, ""):
        with pytest.raises(SettingsError) as e:
            OutputDir(bad).__enter__()
        assert e.value.code == "Settings::Out"


def _wait_for_analysis(out: Path, p, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and p.poll() is None and \
            not list((out / ".autoposter" / "jobs").glob("*/.staging-*/segments/0*.json")):
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT], ids=["SIGHUP", "SIGQUIT"])
def test_a_hangup_or_quit_into_a_new_folder_leaves_nothing(tmp_path, sample_video, sig):
    out = tmp_path / "new"
    p = run(sample_video, "--out", out, "--template", "minimal", "--scenario", "feed")
    _wait_for_analysis(out, p)
    p.send_signal(sig)
    assert p.wait(60) == 128 + sig, p.stderr.read()
    assert sig.name in p.stderr.read()
    assert not out.exists()                                   # the folder this run created is gone again


def test_a_full_disk_is_a_typed_error_and_the_previous_set_stays(tmp_path, sample_video):
    """Files larger than 64 KiB cannot be written (RLIMIT_FSIZE, what a full disk or quota looks like to
    a writer): the frame packs fail, the run says so in one typed line, --out is as it was."""
    import resource
    out = tmp_path / "out"
    assert run(sample_video, "--out", out, "--template", "minimal", "--scenario", "feed", "--quiet").wait(300) == 0
    before = snapshot(out)

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)          # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    p = run(sample_video, "--out", out, "--template", "streaming", "--quiet", preexec_fn=small_disk)
    assert p.wait(300) == 2
    err = p.stderr.read()
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("autoposter: IO::NoSpace"), err
    assert snapshot(out) == before and not list(out.rglob(".staging-*"))


def test_stdout_that_cannot_be_written_does_not_fail_a_finished_run(tmp_path, sample_video):
    out = tmp_path / "out"
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "autoposter.cli", "run", str(sample_video), "--out", str(out),
                            "--template", "minimal", "--scenario", "feed"], env=ENV, stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert complete(out) and "Traceback" not in p.stderr
