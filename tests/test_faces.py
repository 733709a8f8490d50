"""M2: the MTCNN cascade in onnxruntime on real photographs."""
import cv2
import numpy as np

from autoposter.faces import nms
from autoposter.geometry import Box
from conftest import photo


def test_one_face_on_the_astronaut_photo(detector):
    faces = detector.detect(photo("astronaut"))
    assert len(faces) == 1
    f = faces[0]
    # the face of Eileen Collins, boxed by hand: about x 175-270, y 55-180 in the 512x512 photo
    assert Box(165, 45, 115, 145).contains(f.box)
    assert f.box.w > 60 and f.confidence > 0.99
    (lx, ly), (rx, ry) = f.landmarks[0], f.landmarks[1]
    assert lx < rx and abs(ly - ry) < 15           # eyes level, left before right


def test_two_faces_side_by_side(detector):
    pair = np.hstack([photo("astronaut"), cv2.resize(photo("grace_hopper"), (437, 512))])
    faces = detector.detect(pair)
    centres = sorted(f.box.center[0] for f in faces)
    assert len(faces) == 2 and centres[0] < 512 < centres[1]


def test_detection_on_downscaled_copy_maps_back_to_frame_pixels(detector):
    img = photo("astronaut")
    big = cv2.resize(img, (2048, 2048), interpolation=cv2.INTER_CUBIC)   # 4x: detected on a 640 copy
    small_face = detector.detect(img)[0].box
    big_face = detector.detect(big)[0].box
    for a, b in zip(small_face.to_list(), big_face.to_list()):
        assert abs(a * 4 - b) < 4 * 6                   # within 6 source pixels


def test_no_face_on_coffee_and_tiny_frames(detector):
    assert detector.detect(photo("coffee")) == []
    assert detector.detect(np.zeros((8, 8, 3), np.uint8)) == []


def test_nms_keeps_best_and_drops_overlaps():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32)
    keep = nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5)
    assert keep.tolist() == [0, 2]
    keep_min = nms(np.array([[0, 0, 10, 10], [2, 2, 6, 6]], np.float32), np.array([0.5, 0.9]), 0.7, "min")
    assert keep_min.tolist() == [1]
