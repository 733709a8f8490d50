"""People: whole bodies and whole heads with BlazePose (MediaPipe's pose models) run by onnxruntime.

Faces (``faces.py``) say where a face is, not where its head ends: hair, ears and the back of a
head seen from behind are outside any face box, and a person turned away has no face at all. A
crop that must keep heads whole needs the person. This module ports the two-stage pipeline of
MediaPipe's Pose solution (0.10.14, ``mediapipe/modules/pose_detection`` and ``pose_landmark``
graphs, Apache-2.0) to numpy/OpenCV:

1. **Detector** (``pose_detection.onnx``): the frame letterboxed (black) to 224×224, RGB in [-1, 1].
   Its 2254 SSD anchors are computed here from the graph's ``SsdAnchorsCalculator`` options; each
   anchor scores a person — in practice their face: BlazePose uses the face as the proxy for the
   person, so someone seen from behind scores low — and regresses four body keypoints: hip
   centre, a point on the circle around the whole body, shoulder centre and a point on the
   upper-body circle (the box it also outputs is a fixed-size placeholder). Scores are sigmoids of
   clipped logits; overlapping detections are averaged by score (MediaPipe's *weighted* NMS).
   MediaPipe's app then tracks the first detection only; here every detection is a person.
2. **Landmarks** (``pose_landmark.onnx``, BlazePose GHUM "full"): for each person, the square ROI
   MediaPipe derives from the detection — centred on the hip centre, side twice the body-circle
   radius × 1.25, rotated so that the hip centre → body-circle point runs up — is cut to 256×256
   RGB in [0, 1]; the model gives 33 landmarks (x, y, z, visibility, presence logits), a pose
   presence and a heatmap that refines each point (MediaPipe's
   ``RefineLandmarksFromHeatmapCalculator``, 7×7). The points are projected back to the frame.

From the landmarks each person gets a ``head`` box — built around the ears (the head's centre seen
from the front, the side or behind), sized by the largest of the ear-to-ear, nose-to-ears,
eyes-to-mouth and shoulder spans (a span can only shrink when the head turns, so the largest is
the safest), grown for hair and the back of the head — and a ``box``: the visible landmarks plus a
margin, joined with the head. The landmark model's pose presence also decides whether a weak
detection is a person (see :meth:`PersonDetector.detect`). A person the landmark model is not
run on (``landmarks=False`` or beyond ``max_landmark_people``) gets both boxes from the detector's
keypoints: the head from the upper-body circle, the body from the full-body circle.

The sampling is MediaPipe's (its OpenCV image-to-tensor path: a bilinear warp of the uint8 frame,
then the range transform), so on the photographs of the parity test the pipeline follows
MediaPipe's own graph stage by stage. Only when a warp would shrink 8× or more (the letterbox of
a 1080p or larger frame, a ROI over 2048 px) does it read from a copy halved by 2×2 area
averages, so the networks do not see the frame point-sampled. The two networks are reached
through a small runner interface (``detector(x)``, ``landmarks(x)``), so
``layers/models/convert_pose.py`` runs this very pipeline with the original TFLite models to
write the parity references.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import models
from .cropping import clear_head, inside_share
from .geometry import Box
from .images import Pyramid

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
HEATMAP_SIZE = 64
NUM_LANDMARKS = 33
MAX_BILINEAR_SHRINK = 8.0     # a bilinear warp shrinking more than this reads from a halved copy (4K frames)

# BlazePose's 33 landmarks (MediaPipe's order).
NOSE, LEFT_EYE_INNER, LEFT_EYE, LEFT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_EYE, RIGHT_EYE_OUTER = range(7)
LEFT_EAR, RIGHT_EAR, MOUTH_LEFT, MOUTH_RIGHT, LEFT_SHOULDER, RIGHT_SHOULDER = range(7, 13)
LEFT_HIP, RIGHT_HIP = 23, 24
FACE_POINTS = tuple(range(11))                 # nose, eyes, ears, mouth
LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index")


@dataclass(frozen=True)
class PeopleSettings:
    """Person detector knobs. Defaults: MediaPipe's where MediaPipe has one, else measured on real photos."""

    enabled: bool = True                # Q7: look for people (bodies, heads from any side); off: faces only
    min_score: float = 0.5              # detector: a person on the detector's word alone (MediaPipe's min_score_thresh)
    candidate_score: float = 0.3        # ... or from this score when the landmark model confirms (weak_min_presence)
    nms_iou: float = 0.3                # detections overlapping more (IoU of face anchors and of upper bodies) are one
    max_people: int = 6                 # keep at most this many, strongest first
    landmarks: bool = True              # run the 33-point landmark model (≈ 15 ms a person on one core)
    max_landmark_people: int = 3        # ... on at most this many: the largest strong ones, then weak candidates
    roi_scale: float = 1.25             # landmark ROI: body-circle diameter × this (MediaPipe's RectTransformation)
    min_presence: float = 0.5           # the landmark model's pose presence a strong detection needs (MediaPipe: 0.5)
    weak_min_presence: float = 0.9      # ... and a candidate between candidate_score and min_score
    absent_fallback: bool = False       # a strong detection under min_presence keeps the detector's boxes (else: gone)
    min_visibility: float = 0.5         # a landmark counts as seen (for the body box) from this visibility
    body_margin: float = 0.06           # body box: seen landmarks grown by this share of their longer side, each side
    head_per_nose_ear: float = 1.3      # head scale S: ear-to-ear distance, or nose to ears' midpoint × this (profile)
    head_per_eye_mouth: float = 1.7     # ... or eyes' midpoint to mouth's midpoint × this (any yaw); the largest wins
    head_per_shoulder: float = 0.35     # ... and at least shoulder width × this
    head_per_shoulder_unseen: float = 0.46  # ... or × this when the face points are not seen (min_visibility)
    head_top: float = 1.7               # head box: from S × this above the ears (crown and hair) ...
    head_bottom: float = 0.9            # ... to S × this below them (the chin) ...
    head_half_width: float = 1.05       # ... and S × this either side (ears and hair)
    upper_body_head_along: float = 0.39  # detector only: head centre = shoulder centre + this × (keypoint 3 − it)
    upper_body_head_height: float = 0.69  # ... head height = upper-body circle radius × this ...
    upper_body_head_width: float = 0.55  # ... and width = that radius × this
    duplicate_iou: float = 0.5          # two people whose head boxes overlap more (IoU) are one: the stronger stays
    tiles: int = 3                      # small people: on shortlisted frames, the detector on tiles×tiles tiles (0: off)
    tile_overlap: float = 1.5           # ... each tile this many times frame/tiles on a side (neighbours overlap)
    tile_min_score: float = 0.75        # ... a person found on a tile needs this detector score (see detect_small)
    fine_tiles: int = 5                 # ... then, where someone is already seen, on fine×fine tiles (a crowd's far walkers;
    fine_min_score: float = 0.85        # ... 0 or ≤ tiles: off), each needing this score
    subject_person: bool = True         # on shortlisted frames with someone seen, the learned map's region that no known
    subject_explained: float = 0.3      # body holds (under this share of it) is checked for a person the detector missed
                                        # (a back view): the landmark model on its square, needing weak_min_presence
    subject_upright: float = 0.3        # ... and its nose this many torso lengths above the shoulders' midpoint (upright)
    subject_head_room: float = 0.2      # ... its head box grown by this share of its size each side (the face is unseen)


@dataclass(frozen=True)
class Person:
    """One person: body and head boxes in frame pixels, the detector's score, and the landmarks when they ran."""

    box: Box                 # the whole visible person (body), frame pixels
    head: Box                # the head including hair and ears: frontal, profile or from behind
    score: float             # detector score, 0..1
    keypoints: tuple = field(default_factory=tuple)   # 33 (x, y, visibility) in frame pixels, or ()
    lead: bool = True        # may lead the window (M5, M6); False: a back view found on the learned map's region
                             # (``in_region``), kept whole and clear of layers but never the poster's centre

    def shift(self, dx: float, dy: float) -> "Person":
        """The same person in pixels moved by (dx, dy): a tile's or an active picture's to the frame's."""
        return Person(self.box.shift(dx, dy), self.head.shift(dx, dy), self.score,
                      tuple((x + dx, y + dy, v) for x, y, v in self.keypoints), self.lead)

    def to_dict(self) -> dict:
        d = {"box": self.box.to_list(), "head": self.head.to_list(), "score": round(float(self.score), 4),
             "keypoints": [[round(float(x), 1), round(float(y), 1), round(float(v), 3)]
                           for x, y, v in self.keypoints]}
        if not self.lead:
            d["lead"] = False
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Person":
        return cls(Box.from_list(d["box"]), Box.from_list(d["head"]), float(d["score"]),
                   tuple((float(x), float(y), float(v)) for x, y, v in d.get("keypoints", [])),
                   bool(d.get("lead", True)))


# --- the detector ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def ssd_anchors() -> np.ndarray:
    """Anchor centres [2254, 2] (x, y in 0..1) of ``pose_detection_cpu.pbtxt``'s SsdAnchorsCalculator.

    Options: num_layers 5, strides 8, 16, 32, 32, 32, input 224×224, anchor offset 0.5, aspect
    ratios [1.0] plus the interpolated-scale anchor (default 1.0), fixed_anchor_size (w = h = 1,
    so only the centres matter). Layers with the same stride share one grid, anchors interleaved
    per cell: 28² × 2 + 14² × 2 + 7² × 6 = 2254.
    """
    strides = (8, 16, 32, 32, 32)
    out, layer = [], 0
    while layer < len(strides):
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
        per_cell = 2 * (last - layer)              # aspect ratio 1.0 + the interpolated one, per merged layer
        n = math.ceil(DETECTOR_SIZE / strides[layer])
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(grid, per_cell, axis=0))
        layer = last
    return np.concatenate(out).astype(np.float32)


@dataclass(frozen=True)
class Letterbox:
    """How a frame sits in the detector's square: tensor pixel = frame pixel × ``scale`` + (``left``, ``top``)."""

    scale: float
    left: float
    top: float

    def to_frame(self, pts: np.ndarray) -> np.ndarray:
        """Normalised tensor coordinates (0..1) → frame pixels."""
        return (pts * DETECTOR_SIZE - np.array([self.left, self.top], np.float32)) / self.scale


def _onto(m: np.ndarray, n: int) -> np.ndarray:
    """Compose an output → frame affine map with frame → pyramid level ``n``."""
    if n == 0:
        return m
    f = 0.5 ** n
    t = np.array([[f, 0.0, 0.5 * f - 0.5], [0.0, f, 0.5 * f - 0.5]])
    return t @ np.vstack([m, [0.0, 0.0, 1.0]])


def letterbox(image_bgr: np.ndarray, pyramid: Pyramid | None = None) -> tuple[np.ndarray, Letterbox]:
    """The detector's 224×224 uint8 RGB input: the frame centred in a black square (MediaPipe's
    ``keep_aspect_ratio`` + ``BORDER_ZERO``: output pixel u samples frame point (u − left) / scale),
    bilinear (from a halved copy when that would shrink ≥ ``MAX_BILINEAR_SHRINK`` times)."""
    h, w = image_bgr.shape[:2]
    side = float(max(h, w))
    s = DETECTOR_SIZE / side                          # frame px -> tensor px
    left, top = (side - w) / 2 * s, (side - h) / 2 * s
    m = np.array([[1 / s, 0.0, -left / s], [0.0, 1 / s, -top / s]])
    src, n = (pyramid or Pyramid(image_bgr)).for_shrink(side / DETECTOR_SIZE, MAX_BILINEAR_SHRINK)
    out = cv2.warpAffine(src, _onto(m, n), (DETECTOR_SIZE, DETECTOR_SIZE),
                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB), Letterbox(s, left, top)


def detector_input(rgb224: np.ndarray) -> np.ndarray:
    """uint8 RGB → [1, 224, 224, 3] float32 in [-1, 1] (MediaPipe's range transform, scale 2/255, offset -1)."""
    return (rgb224.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0))[None]


def decode_detections(regressors: np.ndarray, scores: np.ndarray, min_score: float):
    """Raw [2254, 12] and [2254] → (face boxes [n, 4] x1 y1 x2 y2, keypoints [n, 4, 2], scores [n]), 0..1.

    ``TensorsToDetectionsCalculator`` with the graph's options: XYWH then four (x, y) keypoints, all
    in 224-pixel units about the anchor centre (fixed anchor size 1); scores are logits clipped to
    ±100 and passed through a sigmoid; boxes with negative width or height are dropped.
    """
    logits = np.clip(scores.astype(np.float64), -100.0, 100.0)
    prob = 1.0 / (1.0 + np.exp(-logits))
    keep = np.nonzero(prob >= min_score)[0]
    if keep.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros((0, 4, 2), np.float32), np.zeros((0,), np.float32)
    r = regressors[keep].astype(np.float32) / DETECTOR_SIZE
    anchors = ssd_anchors()[keep]
    cx, cy = r[:, 0] + anchors[:, 0], r[:, 1] + anchors[:, 1]
    w, h = r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = r[:, 4:12].reshape(-1, 4, 2) + anchors[:, None, :]
    ok = (w >= 0) & (h >= 0)
    return boxes[ok], kps[ok], prob[keep][ok].astype(np.float32)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    w = np.maximum(0.0, np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]))
    h = np.maximum(0.0, np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]))
    inter = w * h
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def upper_body_boxes(kps: np.ndarray) -> np.ndarray:
    """Squares [n, 4] around each detection's upper-body circle (centre keypoint 2, radius to keypoint 3)."""
    r = np.linalg.norm(kps[:, 3] - kps[:, 2], axis=1)
    c = kps[:, 2]
    return np.stack([c[:, 0] - r, c[:, 1] - r, c[:, 0] + r, c[:, 1] + r], axis=1)


def weighted_nms(boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, iou: float):
    """MediaPipe's WEIGHTED non-maximum suppression: each strongest remaining detection takes every
    detection overlapping it by more than ``iou`` (itself included) and becomes their score-weighted
    mean box and keypoints, keeping its own score.

    The detector's boxes are not face boxes but a fixed 0.2 × the letterbox side around the firing
    anchor (the model never learnt them; MediaPipe only uses the keypoints), so their IoU is a
    distance between anchors that ignores the person's size: two small people side by side would
    merge. Overlap here is therefore the smaller of that IoU and the IoU of the upper-body
    squares (with MediaPipe's threshold, 0.3). Measured on three real group photographs:
    detections of one person overlap ≥ 0.72 both ways, so a single person is merged as MediaPipe
    merges it; different people overlap 0 by the anchors when one stands in front of the other,
    and their upper bodies 0.02–0.36.
    """
    ub = upper_body_boxes(kps)
    order = np.argsort(-scores, kind="stable")
    out_b, out_k, out_s = [], [], []
    while order.size:
        top = order[0]
        sim = np.minimum(_iou(boxes[top], boxes[order]), _iou(ub[top], ub[order]))
        sim[0] = 1.0                           # itself, even when degenerate
        group, order = order[sim > iou], order[sim <= iou]
        wts = scores[group][:, None]
        out_b.append((boxes[group] * wts).sum(0) / wts.sum())
        out_k.append((kps[group] * wts[:, :, None]).sum(0) / wts.sum())
        out_s.append(scores[top])
    if not out_b:
        return boxes[:0], kps[:0], scores[:0]
    return np.stack(out_b), np.stack(out_k), np.asarray(out_s, np.float32)


# --- the landmark model ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Roi:
    """A rotated square in frame pixels (centre, side, rotation in radians, clockwise on screen)."""

    cx: float
    cy: float
    side: float
    rotation: float

    def to_frame(self, pts: np.ndarray) -> np.ndarray:
        """Points normalised to the ROI (0..1 along its own axes) → frame pixels (LandmarkProjection)."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        x, y = pts[:, 0] - 0.5, pts[:, 1] - 0.5
        return np.stack([(c * x - s * y) * self.side + self.cx, (s * x + c * y) * self.side + self.cy], axis=1)


def detection_roi(hip: np.ndarray, circle: np.ndarray, scale: float) -> Roi:
    """``PoseDetectionToRoi``: centre = hip centre, side = 2 × |circle point − hip centre| × ``scale``,
    rotation so that keypoint 0 → keypoint 1 points up (target angle 90°), all in frame pixels."""
    dx, dy = float(circle[0] - hip[0]), float(circle[1] - hip[1])
    rotation = math.pi / 2 - math.atan2(-dy, dx)
    rotation = rotation - 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi))
    return Roi(float(hip[0]), float(hip[1]), 2.0 * math.hypot(dx, dy) * scale, rotation)


def roi_crop(image_bgr: np.ndarray, roi: Roi, size: int = LANDMARK_SIZE, pyramid: Pyramid | None = None) -> np.ndarray:
    """The ROI as a ``size``² uint8 RGB image (MediaPipe's rotated-rect warp, bilinear, BORDER_REPLICATE;
    from a halved copy when the warp would shrink ≥ ``MAX_BILINEAR_SHRINK`` times)."""
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    k = roi.side / size
    # crop point (u, v) → frame point: centre + (u/size − ½)·side·(c, s) + (v/size − ½)·side·(−s, c)
    m = np.array([[k * c, -k * s, roi.cx - roi.side / 2 * (c - s)],
                  [k * s, k * c, roi.cy - roi.side / 2 * (s + c)]], np.float64)
    src, n = (pyramid or Pyramid(image_bgr)).for_shrink(k, MAX_BILINEAR_SHRINK)
    out = cv2.warpAffine(src, _onto(m, n), (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def landmark_input(rgb256: np.ndarray) -> np.ndarray:
    """uint8 RGB → [1, 256, 256, 3] float32 in [0, 1] (MediaPipe's range transform for this model)."""
    return (rgb256.astype(np.float32) * np.float32(1.0 / 255.0))[None]


def decode_landmarks(raw: np.ndarray, heatmap: np.ndarray | None, kernel: int = 7,
                     min_confidence: float = 0.5) -> np.ndarray:
    """Raw [195] (+ heatmap [64, 64, 39] logits) → [33, 4]: x, y in ROI units (0..1), visibility, presence.

    ``TensorsToLandmarksCalculator`` (x, y / 256; sigmoid visibility and presence) then
    ``RefineLandmarksFromHeatmapCalculator`` (kernel 7): a point whose 7×7 heatmap window peaks at
    ≥ 0.5 moves to that window's confidence-weighted centroid.
    """
    lm = raw.reshape(-1, 5)[:NUM_LANDMARKS].astype(np.float64)
    xy = lm[:, :2] / LANDMARK_SIZE
    vis = 1.0 / (1.0 + np.exp(-lm[:, 3]))
    pres = 1.0 / (1.0 + np.exp(-lm[:, 4]))
    if heatmap is not None:
        half = (kernel - 1) // 2
        hm = heatmap.reshape(HEATMAP_SIZE, HEATMAP_SIZE, -1)[:, :, :NUM_LANDMARKS].astype(np.float64)
        conf = np.pad(1.0 / (1.0 + np.exp(-hm)), ((half, half), (half, half), (0, 0)))   # zero border
        col = np.trunc(xy[:, 0] * HEATMAP_SIZE).astype(np.int64)                            # C++ int cast
        row = np.trunc(xy[:, 1] * HEATMAP_SIZE).astype(np.int64)
        inside = (col >= 0) & (col < HEATMAP_SIZE) & (row >= 0) & (row < HEATMAP_SIZE)
        offs = np.arange(kernel)
        r = np.clip(row, 0, HEATMAP_SIZE - 1)[:, None] + offs          # padded index of row - half + k
        c = np.clip(col, 0, HEATMAP_SIZE - 1)[:, None] + offs
        win = conf[r[:, :, None], c[:, None, :], np.arange(NUM_LANDMARKS)[:, None, None]]   # [33, k, k]
        total = win.sum(axis=(1, 2))
        rows = (r - half).astype(np.float64)
        cols = (c - half).astype(np.float64)
        wx = (win * cols[:, None, :]).sum(axis=(1, 2))
        wy = (win * rows[:, :, None]).sum(axis=(1, 2))
        refine = inside & (win.max(axis=(1, 2)) >= min_confidence) & (total > 0)
        safe = np.where(total > 0, total, 1.0)
        xy[refine, 0] = wx[refine] / HEATMAP_SIZE / safe[refine]
        xy[refine, 1] = wy[refine] / HEATMAP_SIZE / safe[refine]
    return np.concatenate([xy, vis[:, None], pres[:, None]], axis=1)


# --- boxes from points -------------------------------------------------------------------------------

def _head_box(centre: np.ndarray, w: float, h: float, up: np.ndarray) -> Box:
    """Axis-aligned box around an ellipse ``w`` wide and ``h`` tall centred at ``centre`` whose height runs along
    ``up`` (a unit vector): a tilted head is an ellipse, and its box is smaller than the tilted rectangle's."""
    a, b = w / 2.0, h / 2.0
    sin, cos = float(up[0]), float(-up[1])          # tilt from the vertical: up = (sin, -cos)
    hx = math.sqrt((a * cos) ** 2 + (b * sin) ** 2)
    hy = math.sqrt((a * sin) ** 2 + (b * cos) ** 2)
    return Box(float(centre[0]) - hx, float(centre[1]) - hy, 2 * hx, 2 * hy)


def _unit(v: np.ndarray, fallback=(0.0, -1.0)) -> np.ndarray:
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-6 else np.asarray(fallback, np.float64)


def head_from_landmarks(pts: np.ndarray, s: PeopleSettings) -> Box:
    """The head box from the 33 landmarks ([33, 3+] frame px and visibility).

    Scale S, in ear-to-ear units: the largest of the ear-to-ear distance, nose-to-ears ×
    ``head_per_nose_ear`` and eyes-to-mouth × ``head_per_eye_mouth`` — each span shrinks as the head
    turns (the ears overlap in a profile, the nose lines up with the ears in a frontal view), so the
    largest is the one seen most square-on — and at least shoulder width × ``head_per_shoulder``
    (× ``head_per_shoulder_unseen`` when the face points are not seen). Measured on 29 people of real
    photographs, in MTCNN face-box widths: ears 0.82 apart (0.67–1.03, 10th–90th percentile), eyes to
    mouth 0.48 (0.42–0.56), shoulders 1.77 (1.47–2.26).
    From the ears' midpoint (the head's centre seen from the front, the side or behind) the head runs
    S × ``head_top`` up, S × ``head_bottom`` down and S × ``head_half_width`` to each side.
    Anthropometry puts the crown 0.9 S above the ears, the chin 0.85 S below and the skull 0.53 S
    to each side, before hair. On 9 heads boxed by hand with their hair (astronaut, grace_hopper,
    camera, messi5, basketball2 and four in dlib's group photos) the hair reached 0.89–1.69 S up
    (median 1.25), the chin 0.34–0.86 S down, the sides 0.55–1.26 S (median 0.86): the defaults
    hold 6 of the 9 whole, and cut 4 px of Messi's hair, 10 px of the cameraman's (bent over his
    camera) and 8 px of one head in a crowd whose landmarks mix two people. A head more than 45°
    off upright (mouth → eyes) gets its ellipse along that direction; the ellipse's bounding box
    is returned.
    """
    p = pts[:, :2].astype(np.float64)
    ear_mid = (p[LEFT_EAR] + p[RIGHT_EAR]) / 2
    eye_mid = (p[LEFT_EYE] + p[RIGHT_EYE]) / 2
    mouth_mid = (p[MOUTH_LEFT] + p[MOUTH_RIGHT]) / 2
    shoulders = float(np.linalg.norm(p[LEFT_SHOULDER] - p[RIGHT_SHOULDER]))
    face_seen = pts.shape[1] > 2 and float(np.median(pts[list(FACE_POINTS), 2])) >= s.min_visibility
    scale = max(float(np.linalg.norm(p[LEFT_EAR] - p[RIGHT_EAR])),
                float(np.linalg.norm(p[NOSE] - ear_mid)) * s.head_per_nose_ear,
                float(np.linalg.norm(eye_mid - mouth_mid)) * s.head_per_eye_mouth,
                shoulders * (s.head_per_shoulder if face_seen else s.head_per_shoulder_unseen))
    face_up = _unit(eye_mid - mouth_mid)
    up = face_up if face_up[1] > -math.sqrt(0.5) else np.array([0.0, -1.0])   # upright unless tilted > 45°
    centre = ear_mid + up * ((s.head_top - s.head_bottom) / 2 * scale)
    return _head_box(centre, 2 * s.head_half_width * scale, (s.head_top + s.head_bottom) * scale, up)


def head_from_detection(kps: np.ndarray, s: PeopleSettings) -> Box:
    """Detector only: the head from the upper-body circle (keypoint 2, the shoulder centre, to keypoint 3).

    Measured on 33 people of 17 real photographs against their landmark head boxes: the head centre
    lies 0.39 (0.28–0.45, 10th–90th percentile) of the way from the shoulder centre to keypoint 3;
    the head is 0.60 (0.48–0.69) of that radius tall and 0.49 (0.38–0.55) wide. The sizes take the
    upper ends: the detector's keypoints are coarser than the landmarks.
    """
    shoulder, top = kps[2].astype(np.float64), kps[3].astype(np.float64)
    r = float(np.linalg.norm(top - shoulder))
    up = _unit(top - shoulder)
    return _head_box(shoulder + up * (s.upper_body_head_along * r), r * s.upper_body_head_width,
                     r * s.upper_body_head_height, up)


def body_from_landmarks(pts: np.ndarray, head: Box, s: PeopleSettings, width: int, height: int) -> Box:
    """The seen landmarks (visibility ≥ ``min_visibility``) and the head, grown by ``body_margin``.

    A landmark outside the frame counts too, clipped to the edge: the model places the hips of a
    head-and-shoulders shot below the frame, and the body does run on to that edge.
    """
    xy = pts[:, :2]
    outside = (xy[:, 0] < 0) | (xy[:, 0] >= width) | (xy[:, 1] < 0) | (xy[:, 1] >= height)
    used = np.clip(xy[(pts[:, 2] >= s.min_visibility) | outside], 0, [width, height])
    box = head
    if len(used):
        box = box.union(Box.from_xyxy(*(float(v) for v in (*used.min(0), *used.max(0)))))
    m = s.body_margin * max(box.w, box.h)
    return Box(box.x - m, box.y - m, box.w + 2 * m, box.h + 2 * m)


def body_from_detection(kps: np.ndarray, head: Box) -> Box:
    """Detector only: the square around the full-body circle (hip centre, radius to keypoint 1)."""
    r = float(np.linalg.norm(kps[1] - kps[0]))
    return Box(float(kps[0][0]) - r, float(kps[0][1]) - r, 2 * r, 2 * r).union(head)


# --- runner ------------------------------------------------------------------------------------------

class OnnxPoseNets:
    """The two BlazePose networks as onnxruntime sessions."""

    def __init__(self, threads: int | None = None):
        self._d = models.session("pose_detection", threads)
        self._l = models.session("pose_landmark", threads)

    def detector(self, x: np.ndarray):
        reg, score = self._d.run(None, {"image": x})
        return reg, score

    def landmarks(self, x: np.ndarray):
        lm, presence, heatmap = self._l.run(None, {"image": x})
        return lm, presence, heatmap


def _box_iou(a: Box, b: Box) -> float:
    inter = a.intersection(b)
    if inter is None:
        return 0.0
    return inter.area / max(a.area + b.area - inter.area, 1e-9)


def _same_head(a: Box, b: Box, iou: float) -> bool:
    """Two head boxes of one person: overlapping more than ``iou``, or one mostly inside the other (a tile's
    close view of a head the whole frame saw, a back view found where someone is already known)."""
    return _box_iou(a, b) > iou or inside_share(a, b) >= 0.5 or inside_share(b, a) >= 0.5


class PersonDetector:
    """Detect people (body and head boxes, landmarks) in BGR frames of any size."""

    def __init__(self, settings: PeopleSettings | None = None, threads: int | None = None, nets=None):
        self.settings = settings or PeopleSettings()
        self.nets = nets or OnnxPoseNets(threads)

    def detections(self, image_bgr: np.ndarray, pyramid: Pyramid | None = None):
        """Stage 1 alone: (face-anchor boxes [n, 4], keypoints [n, 4, 2] in frame px, scores [n]): the
        detections from ``min_score`` merged as MediaPipe merges them, then the candidates from
        ``candidate_score`` merged among themselves, less those that overlap a detection."""
        s = self.settings
        rgb, lb = letterbox(image_bgr, pyramid)
        reg, score = self.nets.detector(detector_input(rgb))
        boxes, kps, scores = decode_detections(reg[0], score[0].reshape(-1), min(s.candidate_score, s.min_score))
        strong = scores >= s.min_score
        b1, k1, s1 = weighted_nms(boxes[strong], kps[strong], scores[strong], s.nms_iou)
        b2, k2, s2 = weighted_nms(boxes[~strong], kps[~strong], scores[~strong], s.nms_iou)
        if len(b1) and len(b2):
            ub1, ub2 = upper_body_boxes(k1), upper_body_boxes(k2)
            apart = [max(np.minimum(_iou(b, b1), _iou(u, ub1))) <= s.nms_iou for b, u in zip(b2, ub2)]
            b2, k2, s2 = b2[apart], k2[apart], s2[apart]
        boxes, kps, scores = np.concatenate([b1, b2]), np.concatenate([k1, k2]), np.concatenate([s1, s2])
        boxes = lb.to_frame(boxes.reshape(-1, 2)).reshape(-1, 4)
        kps = lb.to_frame(kps.reshape(-1, 2)).reshape(-1, 4, 2)
        return boxes, kps, scores

    def landmarks(self, image_bgr: np.ndarray, hip: np.ndarray, circle: np.ndarray, pyramid: Pyramid | None = None):
        """Stage 2 for one detection: ([33, 4] x, y frame px, visibility, presence; pose presence)."""
        roi = detection_roi(hip, circle, self.settings.roi_scale)
        lm, presence, heatmap = self.nets.landmarks(landmark_input(roi_crop(image_bgr, roi, pyramid=pyramid)))
        pts = decode_landmarks(lm[0], heatmap[0])
        pts[:, :2] = roi.to_frame(pts[:, :2])
        return pts, float(np.asarray(presence).reshape(-1)[0])

    def detect(self, image_bgr: np.ndarray, require: float = 0.0) -> list[Person]:
        """People in a BGR (or grey) frame, largest body first (none at once, before any landmark run,
        when no detection scores ``require``).

        A detection from ``min_score`` is a person; the landmark model then refines it (its pose
        presence must reach ``min_presence``). A candidate between ``candidate_score`` and
        ``min_score`` is a person only when the landmark model confirms it (``weak_min_presence``).
        Measured on dlib's 9 PASCAL VOC group photographs (43 hand-boxed faces, 37–90 px
        wide): a person's head is found for 18 faces by the detector alone (landmarks
        off), 18 with MediaPipe's rule (landmarks, from 0.5 only), 23 with these defaults; on 85
        photographs without a whole person (OpenCV's samples, coffee, a cat, a rocket) the detector
        alone keeps 4 non-people (a fish cartoon, an aloe, a logo, a hand), these defaults 1 (a
        hand holding a chessboard). Presence separates them: the weak real people score ≥ 0.96,
        and every strong detection with a presence below 0.5 was no person (an aloe 0.09, a fish
        cartoon 0.03, a chessboard 0.07), so such a detection is dropped, not kept with the
        detector's boxes, unless ``absent_fallback`` is set.
        The landmark model runs on at most ``max_landmark_people`` detections: the strong ones by
        body size first, then the candidates by score; strong ones beyond that keep the
        detector's boxes and unconfirmed candidates are dropped.
        """
        s = self.settings
        if image_bgr.ndim == 2:
            image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
        h, w = image_bgr.shape[:2]
        if min(h, w) < 16:
            return []
        pyramid = Pyramid(image_bgr)
        _, kps, scores = self.detections(image_bgr, pyramid)
        if require and (not len(scores) or float(scores.max()) < require):
            return []                                  # nobody scores ``require``: no landmark runs
        strong = scores >= s.min_score
        radius = np.linalg.norm(kps[:, 1] - kps[:, 0], axis=1) if len(kps) else np.zeros(0)
        order = sorted(range(len(scores)), key=lambda i: (0, -radius[i]) if strong[i] else (1, -scores[i]))
        budget = s.max_landmark_people if s.landmarks else 0
        people = []
        for rank, i in enumerate(order):
            pts = None
            if rank < budget:
                pts, presence = self.landmarks(image_bgr, kps[i, 0], kps[i, 1], pyramid)
                if presence < (s.min_presence if strong[i] else s.weak_min_presence):
                    if not (strong[i] and s.absent_fallback):
                        continue
                    pts = None
            if pts is not None:
                head = head_from_landmarks(pts, s)
                body = body_from_landmarks(pts, head, s, w, h)
                keypoints = tuple((float(x), float(y), float(v)) for x, y, v in pts[:, :3])
            elif strong[i]:
                head = head_from_detection(kps[i], s)
                body = body_from_detection(kps[i], head)
                keypoints = ()
            else:
                continue
            body, head = body.clip(w, h), head.clip(w, h)
            if body is None or head is None or head.w < 2 or head.h < 2:
                continue
            people.append(Person(body, head, float(scores[i]), keypoints))
        kept: list[Person] = []
        for p in sorted(people, key=lambda p: -p.score):
            if all(_box_iou(p.head, q.head) <= s.duplicate_iou for q in kept):
                kept.append(p)
        kept = kept[: s.max_people]
        kept.sort(key=lambda p: -p.box.area)
        return kept

    def detect_small(self, image_bgr: np.ndarray, known=()) -> list[Person]:
        """People too small for the whole-frame pass, and not among ``known`` (Persons in the same
        pixels): ``detect`` on ``tiles`` × ``tiles`` overlapping tiles, each ``tile_overlap`` / ``tiles``
        of the frame's side. The detector sees the frame at 224 px, where a pedestrian 100 px tall in
        a 768 px surveillance frame is 30 px and missed; on a tile half the frame's side, they are
        found (OpenCV's vtest.avi: 5 of 9 labelled pedestrians in three frames, none from the whole
        frame). Tiles see many things up close, so a person found on one needs ``tile_min_score``
        (0.75) and must be less than half the frame tall (taller people are the whole frame's to find):
        on the people bench's 47 pictures without a person (animals, fruit, cars, cartoons) tile
        detections scored at most 0.69; the vtest pedestrians scored 0.37–0.99, 24 of about 40 from
        0.75. Nine detector runs, landmarks only on tiles where someone scores that: about 1.2× the
        rest of a frame's analysis, so it runs on a few frames, and not where a known person is half
        the frame tall or more (a medium shot or closer). Where someone is already seen (the whole
        frame's pass or the tiles'), ``fine_tiles`` × ``fine_tiles`` smaller tiles find a crowd's far
        walkers at ``fine_min_score`` (0.85): vtest's frames gave 3–6 people where the nine tiles gave
        1–3; the only fine-tile detections in pictures without people (a shelf behind a motorbike, 0.81;
        an aloe leaf, 0.76) came where nobody was seen and scored under 0.85."""
        s = self.settings
        h, w = image_bgr.shape[:2]
        if s.tiles < 2 or any(q.box.h >= h / 2 for q in known):
            return []                                  # off; or a frame someone fills: a medium shot or closer
        found = self._on_tiles(image_bgr, s.tiles, s.tile_min_score)
        if s.fine_tiles > s.tiles and (known or found):
            found += self._on_tiles(image_bgr, s.fine_tiles, s.fine_min_score)
        new: list[Person] = []
        for p in sorted(found, key=lambda p: -p.score):        # one person seen by two tiles is one
            if not any(_same_head(p.head, q.head, s.duplicate_iou) for q in [*known, *new]):
                new.append(p)
        return new[: s.max_people]

    def in_region(self, image_bgr: np.ndarray, region: Box, known=()) -> Person | None:
        """A person the detector missed where the learned saliency map puts the main subject, in a frame
        where someone is already seen (``known``): a man seen from behind beside the one facing us. The
        detector finds people by their faces, so back views escape it; the landmark model does not need
        one. It runs once, on the square around ``region`` (``roi_scale``), when no known body holds
        ``subject_explained`` of the region, and its pose presence must reach ``weak_min_presence``; its
        nose must stand ``subject_upright`` torso lengths above the shoulders, and the head it gives must lie
        in the region and be nobody's already. Only with someone seen: on the people bench, learned regions
        in pictures without a person (dogs, a cat, a box, a bicycle) scored presences up to 0.999 (their
        noses 0.28 torso lengths above the shoulders at most, people's 0.33–0.5), while among people the one
        unexplained region scoring 0.9 was the back view missed (OpenCV's basketball1: presence 1.0, its
        head found where the labelled one is). Its head box is grown by ``subject_head_room`` each side:
        the face points of a back view are guesses, and the box fell 15 px short of the hair there. The
        person found is no ``lead``: protected, but a face seen leads the window over a back."""
        s = self.settings
        if not (s.subject_person and s.landmarks and known) or region.area <= 0:
            return None
        if max(inside_share(region, q.box) for q in known) >= s.subject_explained:
            return None
        if image_bgr.ndim == 2:
            image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
        h, w = image_bgr.shape[:2]
        cx, cy = region.center
        roi = Roi(cx, cy, max(region.w, region.h) * s.roi_scale, 0.0)
        lm, presence, heatmap = self.nets.landmarks(landmark_input(roi_crop(image_bgr, roi)))
        presence = float(np.asarray(presence).reshape(-1)[0])
        if presence < s.weak_min_presence:
            return None
        pts = decode_landmarks(lm[0], heatmap[0])
        shoulders, hips = pts[[LEFT_SHOULDER, RIGHT_SHOULDER], 1].mean(), pts[[LEFT_HIP, RIGHT_HIP], 1].mean()
        if shoulders - pts[NOSE, 1] < s.subject_upright * (hips - shoulders) or hips <= shoulders:
            return None                                # no head above a torso: a dog, a box, a bicycle
        pts[:, :2] = roi.to_frame(pts[:, :2])
        head = head_from_landmarks(pts, s)
        body = body_from_landmarks(pts, head, s, w, h).clip(w, h)
        if body is None or inside_share(head, region) < 0.5:
            return None
        head = clear_head(head, s.subject_head_room, w, h)   # a head seen from behind: its face points are guessed
        if head.w < 2 or head.h < 2:
            return None
        if any(_same_head(head, q.head, s.duplicate_iou) for q in known):
            return None
        return Person(body, head, presence, tuple((float(x), float(y), float(v)) for x, y, v in pts[:, :3]), False)

    def _on_tiles(self, image_bgr: np.ndarray, n: int, min_score: float) -> list[Person]:
        """Everyone ``detect`` finds at ``min_score`` on n × n overlapping tiles (frame pixels)."""
        s = self.settings
        h, w = image_bgr.shape[:2]
        if n < 2 or min(h, w) < 32 * n:
            return []
        tw, th = min(w, round(w / n * s.tile_overlap)), min(h, round(h / n * s.tile_overlap))
        found: list[Person] = []
        for ty in np.linspace(0, h - th, n).round().astype(int):
            for tx in np.linspace(0, w - tw, n).round().astype(int):
                for p in self.detect(image_bgr[ty:ty + th, tx:tx + tw], require=min_score):
                    if p.score < min_score or p.box.h >= h / 2:
                        continue
                    found.append(p.shift(tx, ty))
        return found
