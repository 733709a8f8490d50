"""M1: frame sampling, streamed, with skips and shot changes; bad videos give typed errors."""
import numpy as np
import pytest

from autoposter.errors import VideoError
from autoposter.frames import FrameSampler, FrameSettings, probe
from conftest import photo, write_video


def test_sample_video_is_sampled_about_once_per_second(sample_video):
    s = FrameSampler(sample_video)
    frames = list(s)
    info = s.info
    assert info.width == 854 and info.height == 480 and 20 < info.duration < 22
    # about 1/s plus frames after cuts, minus skipped ones
    assert 12 <= len(frames) <= 40
    times = [f.time for f in frames]
    assert times == sorted(times) and times[0] == 0.0
    assert any(f.after_cut for f in frames)
    assert len(s.cuts) >= 5                          # the sample has 8 hard cuts and a fade
    reasons = {r.reason for r in s.rejected}
    assert "near_uniform" in reasons                 # the grey slate


def test_black_uniform_and_duplicate_frames_are_skipped(tmp_path):
    pic = photo("astronaut")
    frames = [np.zeros_like(pic)] * 10 + [np.full_like(pic, 128)] * 10 + [pic] * 30
    s = FrameSampler(write_video(tmp_path / "v.mp4", frames, fps=10))
    kept = list(s)
    reasons = [r.reason for r in s.rejected]
    assert "near_black" in reasons and "near_uniform" in reasons and "near_duplicate" in reasons
    assert len(kept) == 1 and kept[0].time >= 2.0


def test_long_video_rate_is_capped(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 96, 3)).astype(np.uint8) for _ in range(100)]
    s = FrameSampler(write_video(tmp_path / "n.mp4", frames, fps=10), FrameSettings(max_frames=4, probe_rate=10))
    assert s.rate == pytest.approx(0.4)
    assert len(list(s)) <= 6


@pytest.mark.parametrize("maker,code", [
    (lambda p: p.write_bytes(b""), "Video::Empty"),
    (lambda p: p.write_text("this is not a video\n" * 50), "Video::Unreadable"),
])
def test_bad_files_raise_typed_errors(tmp_path, maker, code):
    p = tmp_path / "bad.mp4"
    maker(p)
    with pytest.raises(VideoError) as e:
        probe(p)
    assert e.value.code == code and str(p) in e.value.message


def test_missing_file(tmp_path):
    with pytest.raises(VideoError) as e:
        probe(tmp_path / "nope.mp4")
    assert e.value.code == "Video::NotFound"


def test_truncated_video_is_refused_or_read_partly(tmp_path, sample_video):
    data = sample_video.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: len(data) // 3])        # mp4v with the index (moov) at the end: unreadable
    with pytest.raises(VideoError) as e:
        list(FrameSampler(p))
    assert e.value.code == "Video::Unreadable"


def test_tiny_frames_are_refused(tmp_path):
    p = write_video(tmp_path / "t.mp4", [np.full((16, 16, 3), 100, np.uint8)] * 5)
    with pytest.raises(VideoError) as e:
        probe(p)
    assert e.value.code == "Video::TooSmall" and "16×16" in e.value.message


def test_one_frame_video(tmp_path):
    p = write_video(tmp_path / "one.mp4", [photo("astronaut")])
    frames = list(FrameSampler(p))
    assert len(frames) == 1 and frames[0].time == 0.0


def test_huge_frames_are_downscaled_on_decode(tmp_path):
    big = np.tile(photo("coffee"), (1, 2, 1))        # 1200x400
    p = write_video(tmp_path / "w.mp4", [big] * 3)
    frames = list(FrameSampler(p, FrameSettings(max_side=600)))
    assert max(frames[0].image.shape[:2]) == 600
