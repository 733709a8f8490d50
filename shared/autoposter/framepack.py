"""Candidate frames travel in packs: one uncompressed tar of JPEGs per segment of the video.

A pack costs one PUT; any frame in it is one ranged GET (``member`` = its byte offset and
length), so a step that needs a few frames never reads the rest. Tar, so ``tar tf`` lists a
pack by hand; a fixed mtime, so a rerun writes the same bytes.
"""
from __future__ import annotations

import io
import tarfile


class Writer:
    """Frames added in order; ``add`` returns the frame's (offset, length) in the finished pack."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.USTAR_FORMAT)
        self.count = 0

    def add(self, name: str, data: bytes) -> tuple[int, int]:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        self.tar.addfile(info, io.BytesIO(data))
        self.count += 1
        return self.tar.offset - _padded(len(data)), len(data)

    def getvalue(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def _padded(n: int) -> int:
    return -(-n // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE


def unpack(data: bytes) -> dict[str, bytes]:
    """Every member by name (for tests and tools; steps read single members by range)."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for m in tar.getmembers():
            if m.isfile():
                out[m.name] = tar.extractfile(m).read()
    return out


def split(n: int, size: int) -> list[range]:
    """``n`` items into ceil(n / size) batches of nearly equal length (21 by 20 → 11 + 10)."""
    if n <= 0:
        return []
    count = -(-n // max(1, size))
    base, extra = divmod(n, count)
    out, start = [], 0
    for b in range(count):
        length = base + (1 if b < extra else 0)
        out.append(range(start, start + length))
        start += length
    return out
