"""Where a job keeps its work, and where its posters go: two small interfaces, two homes each.

``Store`` holds a job's work — frame packs, segment results, the sampling, the analyses — under
keys such as ``segments/00003.tar``; ``FolderStore`` keeps them in a folder (the command line:
``OUT/.autoposter/jobs/<id>/``), the AWS adapter's ``S3Store`` in the work bucket. ``Publisher``
takes a finished set of posters all at once: the command line's output folder switches sets
atomically, the CDN bucket gets its manifest last. The orchestration (``pipeline.py``) only ever
talks to these, which is why the command line and the cloud make the same posters.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol


class Store(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    def get(self, key: str, start: int | None = None, length: int | None = None) -> bytes:
        """The object, or ``length`` bytes of it from ``start``; ``KeyError`` when it does not exist."""
        ...


class Publisher(Protocol):
    def publish(self, files: dict[str, tuple[bytes, str]], manifest: dict) -> str:
        """All of ``files`` (relative path → (bytes, content type)) and ``manifest.json``, or nothing:
        readers never see half a set. Returns where the set is."""
        ...


def put_json(store: Store, key: str, doc) -> None:
    store.put(key, dumps(doc), "application/json; charset=utf-8")


def get_json(store: Store, key: str):
    return json.loads(store.get(key))


def get_json_or_none(store: Store, key: str):
    try:
        return get_json(store, key)
    except KeyError:
        return None


def dumps(doc) -> bytes:
    """The one JSON form every stored and published document takes (CLI and cloud alike)."""
    return (json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


class FolderStore:
    """A ``Store`` in a local folder; writes are atomic (temporary file, then rename)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise ValueError(f"bad store key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, p)

    def get(self, key: str, start: int | None = None, length: int | None = None) -> bytes:
        p = self._path(key)
        try:
            with open(p, "rb") as f:
                if start is None:
                    return f.read()
                f.seek(start)
                return f.read(length if length is not None else -1)
        except FileNotFoundError:
            raise KeyError(key) from None
