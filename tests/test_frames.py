"""M1: frames sampled per segment on one global grid; skips, shot changes and the budget across the film;
bad videos give typed errors."""
import cv2
import numpy as np
import pytest

from autoposter.errors import VideoError
from autoposter.frames import FrameSettings, plan, sample_segment
from autoposter.pipeline import candidate_frames
from autoposter.sampling import budget, sample
from autoposter.settings import Settings
from autoposter.video import VideoSource, read_header
from conftest import photo, write_video


def _sampled(path, s: FrameSettings, segment_seconds=None):
    src = VideoSource.local(path)
    p = plan(read_header(src), s, segment_seconds)
    results = [sample_segment(src, p, seg, s) for seg in p.segments]
    return p, results, sample(p, results, s)


def test_sample_video_is_sampled_about_once_per_second(sample_video):
    frames, smp = candidate_frames(sample_video)
    v = smp.video
    assert v["width"] == 854 and v["height"] == 480 and 20 < v["duration"] < 22
    assert 12 <= len(frames) <= 40                   # about 1/s plus frames after cuts, minus skipped ones
    times = [r.time for r, _ in frames]
    assert times == sorted(times) and times[0] == 0.0
    assert any(r.after_cut for r, _ in frames)
    assert len(v["cuts"]) >= 5                       # the sample has 8 hard cuts and a fade
    assert "near_uniform" in {r["reason"] for r in smp.rejected}          # the grey slate
    assert all(img.shape == (480, 854, 3) for _, img in frames)


def test_segments_lose_and_duplicate_no_frame(sample_video):
    """Cut into 5 segments, the film decodes every frame exactly once, finds the same cuts and samples
    the same moments as in one piece: the grids are global, each cut is found by one worker."""
    s = Settings.from_env({"AUTOPOSTER_FRAMES_MIN_SEGMENT": "1"}).frames
    one, r1, s1 = _sampled(sample_video, s)
    five, r5, s5 = _sampled(sample_video, s, segment_seconds=one.header.duration / 5 + 1e-3)
    assert len(one.segments) == 1 and len(five.segments) == 5
    assert sum(r.decoded for r in r5) == sum(r.decoded for r in r1) == one.header.frame_count
    firsts = [r.first for r in r5]
    assert firsts == sorted(firsts) and all(a.last < b.first for a, b in zip(r5, r5[1:]))   # no overlap
    assert s5.video["cuts"] == s1.video["cuts"]
    assert [f.id for f in s5.frames] == [f.id for f in s1.frames]
    assert [f.shot for f in s5.frames] == [f.shot for f in s1.frames]
    fps = one.header.fps
    for r, seg in zip(r5[1:], five.segments[1:]):    # a worker looks back a few frames, never a whole segment
        assert r.lookback <= (2 / s.probe_rate + 3 / fps) * fps + 1
        assert r.overrun <= s.cut_delay * fps + 1


def test_black_uniform_and_duplicate_frames_are_skipped(tmp_path):
    pic = photo("astronaut")
    frames = [np.zeros_like(pic)] * 10 + [np.full_like(pic, 128)] * 10 + [pic] * 30
    _, _, smp = _sampled(write_video(tmp_path / "v.mp4", frames, fps=10), FrameSettings())
    reasons = [r["reason"] for r in smp.rejected]
    assert "near_black" in reasons and "near_uniform" in reasons and "near_duplicate" in reasons
    assert len(smp.frames) == 1 and smp.frames[0].time >= 2.0


def test_the_budget_is_spread_over_shots(tmp_path):
    """Five shots of different lengths, a budget of 5: one frame from every shot, not five from the longest."""
    pics = [photo(n) for n in ("astronaut", "coffee", "chelsea", "rocket", "camera")]
    frames = []
    for pic, n in zip(pics, (60, 10, 10, 10, 10)):
        pic = cv2.resize(pic, (320, 240))
        frames += [np.roll(pic, k * 7, axis=1) for k in range(n)]
    _, _, smp = _sampled(write_video(tmp_path / "s.mp4", frames, fps=10), FrameSettings(max_frames=5))
    assert len(smp.frames) == 5 and len({f.shot for f in smp.frames}) == 5
    assert smp.video["over_budget"] > 0


def test_budget_order_takes_each_shot_before_a_second_frame():
    from collections import namedtuple
    F = namedtuple("F", "time shot after_cut")
    cands = [F(t, 0, False) for t in range(20)] + [F(20 + t, 1, t == 0) for t in range(3)] + [F(30, 2, True)]
    kept = budget(cands, lambda c: c.shot, 4)
    assert {c.shot for c in kept} == {0, 1, 2} and sum(c.shot == 0 for c in kept) == 2
    assert F(20, 1, True) in kept and F(30, 2, True) in kept


@pytest.mark.parametrize("maker,code", [
    (lambda p: p.write_bytes(b""), "Video::Empty"),
    (lambda p: p.write_text("this is not a video\n" * 50), "Video::Unreadable"),
])
def test_bad_files_raise_typed_errors(tmp_path, maker, code):
    p = tmp_path / "bad.mp4"
    maker(p)
    with pytest.raises(VideoError) as e:
        read_header(VideoSource.local(p))
    assert e.value.code == code and str(p) in e.value.message


def test_missing_file_and_folder(tmp_path):
    for p in (tmp_path / "nope.mp4", tmp_path):
        with pytest.raises(VideoError) as e:
            VideoSource.local(p)
        assert e.value.code == "Video::NotFound"


def test_truncated_video_is_refused(tmp_path, sample_video):
    data = sample_video.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: len(data) // 3])        # mp4v with the index (moov) at the end: unreadable
    with pytest.raises(VideoError) as e:
        candidate_frames(p)
    assert e.value.code == "Video::Unreadable"


def test_tiny_frames_are_refused(tmp_path):
    p = write_video(tmp_path / "t.mp4", [np.full((16, 16, 3), 100, np.uint8)] * 5)
    with pytest.raises(VideoError) as e:
        read_header(VideoSource.local(p))
    assert e.value.code == "Video::TooSmall" and "16×16" in e.value.message


def test_one_frame_video(tmp_path):
    p = write_video(tmp_path / "one.mp4", [photo("astronaut")])
    frames, _ = candidate_frames(p)
    assert len(frames) == 1 and frames[0][0].time == 0.0


def test_huge_frames_are_downscaled_on_decode(tmp_path):
    big = np.tile(photo("coffee"), (1, 2, 1))        # 1200x400
    p = write_video(tmp_path / "w.mp4", [big] * 3)
    frames, smp = candidate_frames(p, Settings.from_env({"AUTOPOSTER_FRAMES_MAX_SIDE": "600"}))
    assert max(frames[0][1].shape[:2]) == 600 and (smp.video["frame_width"], smp.video["frame_height"]) == (600, 200)


def test_plan_sizes_segments_by_the_decode_model():
    from autoposter.video import VideoHeader
    s = FrameSettings()
    low = VideoHeader("a", 1920, 1080, 30, 216000, 7200, 7200 * 8e6 / 8)          # 2 h at 8 Mbit/s
    high = VideoHeader("b", 1920, 1080, 30, 36000, 1200, 1200 * 30e6 / 8)         # 20 min at 30 Mbit/s
    s = FrameSettings(scan="full")
    for h in (low, high):
        p = plan(h, s)
        seg = p.segments[0].end
        from autoposter.frames import decode_seconds
        assert seg * decode_seconds(h, s) == pytest.approx(s.worker_seconds, rel=0.35)
        assert p.segments[-1].end is None and all(a.end == pytest.approx(b.start) for a, b in zip(p.segments, p.segments[1:]))
    assert plan(high, s).segments[0].end < plan(low, s).segments[0].end          # dearer to decode: shorter
    assert plan(low, s).rate == pytest.approx(min(1.0, s.oversample * s.max_frames / 7200))
    auto = plan(low, FrameSettings())                   # a 2-hour film: candidates 12 s apart, windows decoded
    assert auto.scan == "windows" and auto.segments[0].end > 2 * plan(low, s).segments[0].end
    assert plan(high, FrameSettings()).scan == "full"


def test_window_scans_sample_the_same_moments_however_the_film_is_cut(sample_video):
    """Long films decode a window around each candidate slot: a fraction of the frames, the same candidates
    and cuts in one piece or in segments (the previous slot's window is replayed unseen at each start)."""
    s = Settings.from_env({"AUTOPOSTER_FRAMES_SCAN": "windows", "AUTOPOSTER_FRAMES_MAX_FRAMES": "3",
                           "AUTOPOSTER_FRAMES_MIN_SEGMENT": "1"}).frames
    one, r1, s1 = _sampled(sample_video, s)
    five, r5, s5 = _sampled(sample_video, s, segment_seconds=one.header.duration / 4 + 1e-3)
    assert one.scan == five.scan == "windows" and len(five.segments) == 4
    assert sum(r.decoded for r in r1) < 0.8 * one.header.frame_count          # not every frame
    assert sum(r.decoded for r in r5) == sum(r.decoded for r in r1)
    assert [f.id for f in s5.frames] == [f.id for f in s1.frames] and s5.video["cuts"] == s1.video["cuts"]
    slots = {round(k / one.rate, 3) for k in range(int(one.header.duration * one.rate) + 1)}
    assert all(f.after_cut or round(f.time, 3) >= min(t for t in slots if t >= f.time - 1 / one.header.fps)
               for f in s1.frames)


def test_a_window_scan_is_a_partial_read_only_when_its_windows_are_not_read(tmp_path):
    """A long film read in windows decodes a few percent of its frames: measured against its windows'
    frames it is whole; cut at 40 % it is still a partial read (before: every window scan was one)."""
    img = cv2.resize(photo("astronaut"), (160, 120))
    full = tmp_path / "full.avi"
    vw = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(400):                                             # 40 s
        vw.write(np.roll(img, i * 3, axis=1))
    vw.release()
    s = Settings.from_env({"AUTOPOSTER_FRAMES_SCAN": "windows", "AUTOPOSTER_FRAMES_MAX_FRAMES": "2",
                           "AUTOPOSTER_FRAMES_OVERSAMPLE": "1", "AUTOPOSTER_FRAMES_MIN_SEGMENT": "1"}).frames
    p, results, smp = _sampled(full, s)
    v = smp.video
    assert p.scan == "windows" and v["frames_decoded"] < 0.5 * p.header.frame_count
    assert not v["partial_read"] and v["frames_expected"] == pytest.approx(v["frames_decoded"], rel=0.1)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[:int(full.stat().st_size * 0.4)])
    src = VideoSource.local(cut)
    results = [sample_segment(src, p, seg, s) for seg in p.segments]   # the whole film's plan, a damaged file
    assert sample(p, results, s).video["partial_read"]


def test_probe_copies_are_the_one_step_area_average():
    """The probes' halvings (images.shrink) give what one INTER_AREA resize gives, to rounding: the
    thumbnails, histograms and bar profiles do not depend on the shortcut."""
    from autoposter.images import shrink
    rng = np.random.default_rng(7)
    for w, h in ((1920, 1080), (3840, 2160), (1281, 721), (854, 480), (400, 300)):
        img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 2)
        got = shrink(img, 480)
        if w <= 480:
            assert got is img
            continue
        want = cv2.resize(img, (480, round(h * 480 / w)), interpolation=cv2.INTER_AREA)
        assert got.shape == want.shape
        diff = np.abs(got.astype(int) - want)
        assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 2
