"""Frames travel in batches: one tar of JPEGs per Map item, so a batch costs one PUT and one GET."""
from __future__ import annotations

import io
import tarfile


def pack(frames: list[tuple[int, bytes]]) -> bytes:
    """A tar holding ``{index:06d}.jpg`` per frame (uncompressed: JPEG is compressed already)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for index, data in frames:
            info = tarfile.TarInfo(f"{index:06d}.jpg")
            info.size, info.mtime, info.mode = len(data), 0, 0o644    # fixed mtime: reruns give equal bytes
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def unpack(data: bytes) -> dict[int, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.endswith(".jpg") and m.name[:-4].isdigit():
                out[int(m.name[:-4])] = tar.extractfile(m).read()
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
