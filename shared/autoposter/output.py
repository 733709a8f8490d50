"""The output folder: checked before any video work, locked against a second run, replaced whole.

* ``--out`` that is a file, or cannot be created or written, fails first (``Settings::Out``).
* A lock file (``.autoposter.lock``, holding the pid) keeps two runs from mixing their posters;
  a lock left by a dead process is taken over (``Settings::OutBusy`` while its owner lives).
* A run stages everything in a hidden folder inside ``--out`` and moves it into place,
  ``manifest.json`` last; then what the previous manifest listed and the new one does not is
  removed, so the folder holds exactly one set. A failed or interrupted run removes its
  staging folder and leaves ``--out`` as it found it (a folder it created is removed again).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import SettingsError

LOCK = ".autoposter.lock"
OWNED = ("index.html", "contact_sheet.jpg", "manifest.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputDir:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.created = False
        self.lock = self.path / LOCK

    def __enter__(self) -> "OutputDir":
        p = self.path
        if p.exists() and not p.is_dir():
            raise SettingsError(f"--out {p} is a file, not a folder", code="Settings::Out")
        if not p.exists():
            try:
                p.mkdir(parents=True)
            except OSError as exc:
                raise SettingsError(f"--out {p}: cannot create it ({exc.strerror})", code="Settings::Out") from None
            self.created = True
        for _ in range(2):
            try:
                fd = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.lock.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _alive(pid):
                    raise SettingsError(f"--out {p} is in use by another autoposter run (pid {pid})",
                                        code="Settings::OutBusy") from None
                self.lock.unlink(missing_ok=True)            # a dead run's lock
                continue
            except OSError as exc:
                self._undo()
                raise SettingsError(f"--out {p}: cannot write there ({exc.strerror})", code="Settings::Out") from None
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return self
        raise SettingsError(f"--out {p}: cannot take its lock", code="Settings::OutBusy")

    def __exit__(self, *exc) -> bool:
        for st in self.path.glob(".staging-*"):
            shutil.rmtree(st, ignore_errors=True)
        self.lock.unlink(missing_ok=True)
        if exc[0] is not None:
            self._undo()
        return False

    def _undo(self) -> None:
        if self.created:
            shutil.rmtree(self.path, ignore_errors=True)

    def stage(self) -> Path:
        return Path(tempfile.mkdtemp(prefix=".staging-", dir=self.path))

    def publish(self, stage: Path) -> None:
        """Move staged files into place (manifest last), then drop what only the old set listed."""
        old = self._listed()
        files = sorted((f for f in stage.rglob("*") if f.is_file()), key=lambda f: f.name == "manifest.json")
        for f in files:
            dest = self.path / f.relative_to(stage)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dest)
        new = {str(f.relative_to(stage)) for f in files}
        for rel in sorted(old - new):
            target = (self.path / rel).resolve()
            if self.path.resolve() in target.parents and target.is_file():
                target.unlink()
                for parent in target.parents:               # empty template/scenario folders go too
                    if parent == self.path.resolve() or any(parent.iterdir()):
                        break
                    parent.rmdir()

    def _listed(self) -> set[str]:
        try:
            m = json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        out = set(OWNED)
        for p in m.get("posters", []) if isinstance(m, dict) else []:
            for k in ("path", "debug"):
                if isinstance(p, dict) and isinstance(p.get(k), str):
                    out.add(p[k])
        return out
