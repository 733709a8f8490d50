"""The benchmark's own parts: labelled frames, the peers' crops and the quality measures."""
import sys

import pytest

from autoposter.cropping import SCENARIOS
from autoposter.geometry import Box
from conftest import ROOT

sys.path.insert(0, str(ROOT))
from bench.labelled import composites, sample_video_frames  # noqa: E402
from bench.peers import OpenCVFaces, SmartCropPy, centre_crop  # noqa: E402
from bench.run import analyse, crop_quality, face_kept, layout_quality  # noqa: E402


@pytest.fixture(scope="module")
def items():
    return composites(n=6) + sample_video_frames()[:4]


def test_labelled_faces_lie_inside_their_frames(items):
    assert sum(len(it.faces) for it in items) >= 8
    for it in items:
        h, w = it.image.shape[:2]
        for f in it.faces:
            assert Box(0, 0, w, h).contains(f, tol=2), it.name


def test_ground_truth_matches_what_mtcnn_finds_on_the_sample_video(detector, items):
    hits = 0
    for it in (i for i in items if i.name.startswith("sample") and i.faces):
        found = [f.box for f in detector.detect(it.image)]
        for gt in it.faces:
            hits += any(face_kept(gt, b) > 0.5 or face_kept(b, gt) > 0.5 for b in found)
    assert hits >= 3


@pytest.mark.parametrize("peer", [centre_crop, OpenCVFaces(), SmartCropPy()], ids=["centre", "opencv", "smartcrop"])
def test_peers_return_full_windows_of_the_target_aspect(items, peer):
    img = items[0].image
    h, w = img.shape[:2]
    for sc in SCENARIOS.values():
        b = peer(img, sc.aspect, (sc.width, sc.height))
        assert Box(0, 0, w, h).contains(b, tol=1)
        assert abs(b.w / b.h - sc.aspect) < 0.02 or b.w == w and b.h == h


def test_quality_measures_rank_a_face_blind_crop_below_ours(detector, items):
    from autoposter.settings import Settings
    s = Settings.from_env()
    analysed = analyse(items, detector, s)
    q = crop_quality(analysed, s, {"centre": centre_crop})
    assert q["autoposter"]["story"]["mean_face_area_kept"] >= q["centre"]["story"]["mean_face_area_kept"]
    lq = layout_quality(analysed, s)
    assert lq["autoposter"]["share_overlapping_a_face"] <= lq["default_spot"]["share_overlapping_a_face"]


def test_editor_measures_on_a_few_frames(detector, items):
    from autoposter.settings import Settings
    from bench import editor
    s = Settings.from_env()
    multi = [it for it in composites(n=12, seed=11) if len(it.faces) >= 2][:3]
    sl = editor.slicing(multi, detector, s, {"centre": centre_crop})
    assert sl["autoposter"]["crops"] == sl["centre"]["crops"] > 0
    assert sl["autoposter"]["no_face_sliced"] >= sl["centre"]["no_face_sliced"]
    lc = editor.layer_cover([it for it in items if it.faces][:3], detector, s)
    assert lc["covered_autoposter"] <= lc["covered_m4_m6_only"] and lc["posters"] == 30
    ag = editor.agreement(detector)
    assert ag["soft vs sharp"]["BRISQUE alone"] == 1.0 and ag["blink vs open eyes"]["pairs"] >= 3


def test_a_montage_gives_one_poster_per_shot_and_none_from_the_end_card():
    from autoposter.settings import Settings
    from bench import editor
    o = editor.one_per_moment(Settings.from_env())
    assert o["shots_detected"] >= 5
    assert o["top3_from_3_shots"] == o["scenarios"] == 5
    assert o["posters_from_the_end_card"] == 0


def test_the_decode_bench_counts_what_each_capture_decodes(sample_video, tmp_path):
    """bench.decode's three captures on the sample (MPEG-4 Part 2, no B-frames): reference frames are every
    frame, keyframes are a few; on an H.264 film with B-frames, reference frames are fewer."""
    from bench.decode import decode_only, markdown
    _, every = decode_only(sample_video, 5.0, None)
    _, ref = decode_only(sample_video, 5.0, "avdiscard;nonref")
    _, key = decode_only(sample_video, 5.0, "avdiscard;nonkey")
    assert every == ref > 0 and 0 < key < every / 4
    pytest.importorskip("av")
    import videos
    film = videos.container(tmp_path, ".mp4")
    _, every = decode_only(film, 5.0, None)
    _, ref = decode_only(film, 5.0, "avdiscard;nonref")
    assert every == videos.FRAMES and ref < 0.75 * every
    row = {"decode: every frame": 0.1, "decode: reference frames": 0.06, "decode: keyframes": 0.01,
           "extraction, reference_only off": 0.2, "extraction, reference_only on": 0.15, "frames: every frame": 10,
           "frames: reference frames": 6, "frames: keyframes": 1, "ratio: reference frames / every frame": 0.6,
           "ratio: keyframes / every frame": 0.1, "ratio: extraction on / off": 0.75}
    assert "| x | 0.1000 | 0.0600 | 0.0100 | 0.2000 | 0.1500 | 10 / 6 / 1 |" in markdown({"x": row}, 5, 1)
