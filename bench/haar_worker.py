"""The OpenCV-faces peer, run in its own environment (OpenCV 4.x: 5.x dropped CascadeClassifier).

Reads frames from stdin (8-byte big-endian length, then a PNG) and answers each with one JSON
line: the face boxes at frame scale and the milliseconds detection took inside this process, so
the pipe's cost is not charged to the peer. Started by ``bench.peers.OpenCVFaces``.
"""
import json
import struct
import sys
import time

import cv2
import numpy as np


def main() -> None:
    cv2.setNumThreads(1)
    max_side = int(sys.argv[1]) if len(sys.argv) > 1 else 640
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    inp, out = sys.stdin.buffer, sys.stdout
    while True:
        head = inp.read(8)
        if len(head) < 8:
            return
        img = cv2.imdecode(np.frombuffer(inp.read(struct.unpack(">Q", head)[0]), np.uint8), cv2.IMREAD_COLOR)
        t0 = time.perf_counter()
        h, w = img.shape[:2]
        k = min(1.0, max_side / max(h, w))
        small = cv2.resize(img, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else img
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(20, 20))
        boxes = [[x / k, y / k, bw / k, bh / k] for x, y, bw, bh in (found if len(found) else [])]
        out.write(json.dumps({"faces": boxes, "ms": (time.perf_counter() - t0) * 1000}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
