"""M3: saliency map in [0, 1] and the second region."""
import numpy as np

from autoposter.saliency import SaliencySettings, saliency_map
from conftest import photo


def test_map_is_in_unit_range_and_finds_a_lone_object():
    img = np.full((360, 640, 3), 90, np.uint8)
    img[200:300, 450:560] = (30, 200, 240)           # a bright object right of centre
    res = saliency_map(img)
    assert res.map.dtype == np.float32 and 0.0 <= res.map.min() and res.map.max() <= 1.0
    assert res.region is not None
    cx, cy = res.region.center
    assert 420 <= cx <= 590 and 170 <= cy <= 330


def test_uniform_frame_has_no_salient_region():
    res = saliency_map(np.full((200, 300, 3), 128, np.uint8))
    assert res.region is None and float(res.map.max()) == 0.0


def test_real_photo_region_and_full_size_map():
    img = photo("chelsea")
    res = saliency_map(img, SaliencySettings(threshold=0.4))
    assert res.region is not None and res.region.area > 0.02 * img.shape[0] * img.shape[1]
    full = res.full(img.shape[1], img.shape[0])
    assert full.shape == img.shape[:2]


def test_tiny_frame_still_works():
    res = saliency_map(np.random.default_rng(1).integers(0, 255, (9, 9, 3)).astype(np.uint8))
    assert res.map.ndim == 2 and min(res.map.shape) >= 1 and np.isfinite(res.map).all()
    assert 0 <= float(res.map.min()) and float(res.map.max()) <= 1
    assert res.full(9, 9).shape == (9, 9)
