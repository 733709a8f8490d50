"""The output folder: the user's folder, of which autoposter owns exactly two names.

* ``OUT/.autoposter/`` — autoposter's own: the lock, each video's stored work (frame packs, the
  analysis: ``jobs/<video>/<settings>/``) and the poster sets (``sets/<id>/``).
* ``OUT/latest`` — a symbolic link to the current set (``.autoposter/sets/<id>``).

Nothing else in ``OUT`` is ever written, replaced or deleted. A set is written in full into a new
folder (each file flushed to disk), then ``latest`` is switched to it with one ``rename`` — an
atomic step, so a reader sees the old set or the new one, never half of either, whatever ends the
run (an error, a signal, a power cut). Older sets are removed only from ``.autoposter/sets/``, and
only folders that carry autoposter's own mark; the previous set stays for readers still on it.

The lock is ``fcntl.flock`` on ``.autoposter/lock``: the kernel drops it when the process dies, so
a killed run never blocks the next one, and a second run while one lives is ``Settings::OutBusy``.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import time
from pathlib import Path

from .errors import SettingsError
from .stores import FolderStore, dumps

OWN = ".autoposter"
LATEST = "latest"
MARK = ".autoposter-set"
KEEP_SETS = 2                     # the current set and the one before it (a reader may still be on it)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write and flush one file of a set (durable before the set is switched in)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class OutputDir:
    """``with OutputDir(path) as out:`` — checked, created if missing, locked; see the module docstring."""

    def __init__(self, path: str | os.PathLike):
        raw = os.fspath(path)
        if not raw or not str(raw).strip():
            raise SettingsError("--out is empty (expected a folder path)", code="Settings::Out")
        self.path = Path(path)
        self.created = False                  # this run made the folder
        self.created_own = False              # this run made .autoposter/
        self._lock_fd = None
        self._work: list[tuple[Path, Path]] = []     # (staging, final) work stores of this run
        self.published = False
        self.unswitched: Path | None = None   # a set this run renamed into place but has not yet switched to

    @property
    def own(self) -> Path:
        return self.path / OWN

    def check(self) -> None:
        """Everything that can be said about the folder before any work: exists as a folder or can be
        created, is not someone else's ``latest``, ``.autoposter`` is autoposter's."""
        p = self.path
        try:
            st = p.lstat()
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise SettingsError(f"--out {p}: cannot use it ({exc.strerror})", code="Settings::Out") from None
        if st is not None and not stat.S_ISDIR(p.stat().st_mode if stat.S_ISLNK(st.st_mode) else st.st_mode):
            raise SettingsError(f"--out {p} is a file, not a folder", code="Settings::Out")
        latest = p / LATEST
        if latest.is_symlink():
            target = os.readlink(latest)
            if not target.startswith(f"{OWN}/sets/"):
                raise SettingsError(f"--out {p}: {LATEST} is a link autoposter did not make (to {target}); "
                                    "choose another --out", code="Settings::Out")
        elif os.path.lexists(latest):
            raise SettingsError(f"--out {p}: {LATEST} already exists and is not autoposter's; choose another --out",
                                code="Settings::Out")
        own = self.own
        if os.path.lexists(own) and (own.is_symlink() or not own.is_dir()):
            raise SettingsError(f"--out {p}: {OWN} exists and is not autoposter's folder; choose another --out",
                                code="Settings::Out")
        for name, want in (("sets", stat.S_ISDIR), ("jobs", stat.S_ISDIR), ("lock", stat.S_ISREG)):
            try:                                  # a link here would put posters (or deletions) outside --out
                mode = (own / name).lstat().st_mode
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise SettingsError(f"--out {p}: cannot use it ({exc.strerror})", code="Settings::Out") from None
            if not want(mode):
                raise SettingsError(f"--out {p}: {OWN}/{name} is not what autoposter made (a link, or another kind "
                                    "of file); choose another --out", code="Settings::Out")

    def __enter__(self) -> "OutputDir":
        self.check()
        p = self.path
        try:
            if not p.exists():
                p.mkdir(parents=True)
                self.created = True
            if not self.own.exists():
                self.own.mkdir()
                self.created_own = True
            fd = os.open(self.own / "lock", os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            self._undo()
            raise SettingsError(f"--out {p}: cannot write there ({exc.strerror})", code="Settings::Out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SettingsError(f"--out {p} is in use by another autoposter run", code="Settings::OutBusy") from None
        self._lock_fd = fd
        return self

    def __exit__(self, *exc) -> bool:
        for st in (self.own / "sets").glob(".staging-*") if (self.own / "sets").is_dir() else ():
            if (st / MARK).is_file():
                shutil.rmtree(st, ignore_errors=True)
        left = self.unswitched                # a stop landed between the set's rename and the switch
        if left is not None and (left / MARK).is_file() and not _is_latest(self.path, left):
            shutil.rmtree(left, ignore_errors=True)
        for staging, _ in self._work:
            shutil.rmtree(staging, ignore_errors=True)
        if exc[0] is not None or not self.published:
            self._undo()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        return False

    def _undo(self) -> None:
        """What this run created and holds nothing but autoposter's own is removed again: a run that
        failed or published nothing leaves ``OUT`` as it found it."""
        if self.created_own and self.own.is_dir() and not os.path.lexists(self.path / LATEST):
            shutil.rmtree(self.own, ignore_errors=True)
        if self.created and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def work(self, video_id: str, digest: str) -> FolderStore:
        """A store for this run's frames and analysis: a staging folder, kept (``autoposter render``
        reads it) only when the run publishes (``keep_work``), removed otherwise."""
        final = self.own / "jobs" / video_id / digest
        staging = final.with_name(f".staging-{digest}-{os.getpid()}")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        self._work.append((staging, final))
        return FolderStore(staging)

    def stored(self, video_id: str, digest: str) -> FolderStore | None:
        """A kept analysis, or None."""
        final = self.own / "jobs" / video_id / digest
        return FolderStore(final) if (final / "sampling.json").is_file() else None

    def keep_work(self) -> None:
        """This run published: its work stores replace what was kept for the same video and settings."""
        for staging, final in self._work:
            if final.exists():
                old = final.with_name(f".old-{final.name}-{os.getpid()}")
                os.rename(final, old)
                os.rename(staging, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(staging, final)
        self._work = []

    def publisher(self) -> "FolderPublisher":
        return FolderPublisher(self)

    def current(self) -> Path | None:
        """The current set's folder, or None."""
        latest = self.path / LATEST
        return latest.resolve() if latest.is_symlink() and latest.resolve().is_dir() else None


class FolderPublisher:
    """The command line's ``Publisher``: a new set folder, then one atomic switch of ``latest``."""

    def __init__(self, out: OutputDir):
        self.out = out

    def publish(self, files: dict[str, tuple[bytes, str]], manifest: dict) -> str:
        sets = self.out.own / "sets"
        sets.mkdir(parents=True, exist_ok=True)
        now = time.time_ns()
        name = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now / 1e9)) + f"-{now % 1_000_000_000:09d}"   # sorts by time
        stage = sets / f".staging-{name}"
        stage.mkdir()
        write_file(stage / MARK, json.dumps({"created": time.time()}).encode())
        root = stage.resolve()                            # --out may be relative: compare real paths
        for rel, (data, _) in sorted(files.items()):
            dest = stage / rel
            if root not in dest.resolve().parents:
                raise SettingsError(f"--out {self.out.path}: poster path {rel!r} would leave its set (a link inside "
                                    f"{OWN}?)", code="Settings::Out")
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_file(dest, data)
        write_file(stage / "manifest.json", dumps(manifest))
        for d in sorted({p.parent for p in stage.rglob("*")}, key=lambda p: -len(p.parts)):
            _fsync_dir(d)
        final = sets / name
        self.out.unswitched = final                       # __exit__ removes it unless `latest` points at it
        os.rename(stage, final)
        _fsync_dir(sets)
        link = self.out.own / f"{LATEST}.{os.getpid()}.tmp"      # in our own folder: no name of the user's is touched
        if os.path.lexists(link):
            link.unlink()
        from .stopping import check
        check()                                           # a run told to stop never switches sets
        os.symlink(f"{OWN}/sets/{name}", link)
        os.replace(link, self.out.path / LATEST)          # the one atomic step that switches sets
        self.out.unswitched = None
        self.out.published = True
        _fsync_dir(self.out.path)
        self._prune(sets, keep=name)
        return str(self.out.path / LATEST)

    @staticmethod
    def _prune(sets: Path, keep: str) -> None:
        done = sorted((d for d in sets.iterdir() if d.is_dir() and not d.name.startswith(".")
                       and (d / MARK).is_file()), key=lambda d: d.name)
        for d in done[:-KEEP_SETS]:
            if d.name != keep:
                shutil.rmtree(d, ignore_errors=True)


def _is_latest(out: Path, set_dir: Path) -> bool:
    """Does ``OUT/latest`` point at ``set_dir``?"""
    try:
        return os.readlink(out / LATEST) == f"{OWN}/sets/{set_dir.name}"
    except OSError:
        return False
