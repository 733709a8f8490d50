"""S11, Q6: films as catalogues hold them — bars, phone rotation, variable frame rate, every container, the
index at the end, cuts at segment boundaries — on small real-footage fixtures (tests/videos.py)."""
import math

import cv2
import numpy as np
import pytest

pytest.importorskip("av", reason="the film fixtures are written with PyAV (a dev dependency)")

import videos  # noqa: E402
from autoposter.analysis import Job  # noqa: E402
from autoposter.errors import VideoError  # noqa: E402
from autoposter.frames import FrameSettings, plan, sample_segment  # noqa: E402
from autoposter.pipeline import candidate_frames, run_video  # noqa: E402
from autoposter.sampling import sample  # noqa: E402
from autoposter.settings import Settings  # noqa: E402
from autoposter.video import VideoSource, read_header  # noqa: E402

SMALL = {"AUTOPOSTER_FRAMES_MIN_SEGMENT": "0.5"}


def sampled(path, segment_seconds=None, **env):
    s = Settings.from_env({**SMALL, **env})
    src = VideoSource.local(path)
    p = plan(read_header(src), s.frames, segment_seconds)
    results = [sample_segment(src, p, seg, s.frames, s.bars) for seg in p.segments]
    return p, results, sample(p, results, s.frames, s.bars)


@pytest.mark.parametrize("maker,rect", [(videos.letterboxed, videos.LETTERBOX_RECT),
                                        (videos.pillarboxed, videos.PILLARBOX_RECT),
                                        (videos.windowboxed, videos.WINDOWBOX_RECT)],
                         ids=["letterbox", "pillarbox", "windowbox"])
@pytest.mark.parametrize("noisy", [False, True], ids=["black", "noisy"])
@pytest.mark.parametrize("scan", ["full", "keys"])
def test_bars_are_found_per_shot_and_no_crop_shows_one(tmp_path, maker, rect, noisy, scan):
    """In segments, or from keyframes only (a long film's read: a few probes a shot)."""
    path = maker(tmp_path, noisy=noisy)
    _, _, smp = sampled(path, segment_seconds=1.5, AUTOPOSTER_FRAMES_SCAN=scan)
    x, y, w, h = rect
    for shot in smp.shots:
        ax, ay, aw, ah = shot["active"]
        assert x <= ax <= x + 8 and y <= ay <= y + 8, (shot, rect)                 # inside the picture...
        assert x + w - 8 <= ax + aw <= x + w and y + h - 8 <= ay + ah <= y + h, (shot, rect)   # ...losing ≤ 8 px
    assert smp.video["letterboxed"]


def test_posters_of_a_letterboxed_film_show_no_bar(tmp_path):
    path = videos.letterboxed(tmp_path, noisy=True)
    m = run_video(path, tmp_path / "out", Job(title="Film", templates=("minimal",)), Settings.from_env({}))
    x, y, w, h = videos.LETTERBOX_RECT
    assert m["posters"] and {p["scenario"] for p in m["posters"]} == {"story", "feed", "portrait", "landscape", "cover"}
    for p in m["posters"]:
        cx, cy, cw, ch = p["crop"]
        assert cy >= y and cy + ch <= y + h and p["active"][1] >= y, (p["path"], p["crop"])
        img = cv2.imread(str(tmp_path / "out" / "latest" / p["path"]), cv2.IMREAD_GRAYSCALE)
        for band in (img[:6], img[-6:]):                   # the poster's edges are picture, not a bar
            assert band.mean() > 25 or band.std() > 6, p["path"]


def test_a_dark_scene_is_not_taken_for_bars(tmp_path):
    """A night sky over a lit street: dark and flat at the top only — one-sided, so no bar; a whole clip too
    dark to judge keeps its full frame too."""
    from conftest import photo, write_video
    street = cv2.resize(photo("coffee"), (320, 240))
    night = []
    for i in range(30):
        f = np.roll(street, i * 2, axis=1).copy()
        f[:60] = 4                                        # a black sky, 25 % of the frame, over the top only
        night.append(f)
    _, _, smp = sampled(write_video(tmp_path / "night.mp4", night, fps=10))
    assert all(s["bars"] == [0.0, 0.0, 0.0, 0.0] for s in smp.shots) and not smp.video["letterboxed"]
    dim = [(np.roll(street, i * 2, axis=1) * 0.08).astype(np.uint8) for i in range(30)]
    _, _, smp = sampled(write_video(tmp_path / "dim.mp4", dim, fps=10))
    assert all(s["active"] == [0, 0, 320, 240] for s in smp.shots)


@pytest.mark.parametrize("rotate", [90, 270])
def test_a_phone_video_is_upright(tmp_path, rotate):
    path = videos.rotated_phone(tmp_path, rotate)
    h = read_header(VideoSource.local(path))
    assert (h.width, h.height, h.rotation) == (360, 640, rotate)
    frames, smp = candidate_frames(path)
    assert frames and all(img.shape[:2] == (640, 360) for _, img in frames)
    m = run_video(path, tmp_path / "out", Job(title="Phone", templates=("minimal",), scenarios=("story",)),
                  Settings.from_env({}))
    story = m["posters"][0]
    assert story["crop"] == [0, 0, 360, 640]                 # portrait source, 9:16 poster: the whole frame
    from autoposter import framepack                             # a keyframes-only read is upright too
    s = Settings.from_env({**SMALL, "AUTOPOSTER_FRAMES_SCAN": "keys"})
    src = VideoSource.local(path)
    p = plan(read_header(src), s.frames)
    pack = framepack.Writer()
    sample_segment(src, p, p.segments[0], s.frames, s.bars, pack)
    imgs = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in framepack.unpack(pack.getvalue()).values()]
    assert p.scan == "keys" and imgs and all(img.shape[:2] == (640, 360) for img in imgs)


@pytest.mark.parametrize("reference_only", ["false", "true"])
def test_variable_frame_rate_keeps_the_streams_own_times(tmp_path, reference_only):
    path = videos.vfr(tmp_path)
    _, results, smp = sampled(path, AUTOPOSTER_FRAMES_REFERENCE_ONLY=reference_only)
    truth = videos.vfr_times()
    if reference_only == "false":
        assert sum(r.decoded for r in results) == len(truth)
    else:                                               # B-frames skipped; the rest keep their own times
        assert sum(r.decoded for r in results) < 0.75 * len(truth) and not smp.video["partial_read"]
    for f in smp.frames:
        assert min(abs(f.time - t) for t in truth) < 1e-3, f.time


@pytest.mark.parametrize("reference_only", ["false", "true"])
@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm", ".ts"])
def test_every_container_decodes_whole_and_cut_into_segments(tmp_path, suffix, reference_only):
    """Every frame read once, whole or cut into segments; with ``reference_only`` (the default), the frames
    no other refers to are skipped (counted from the timestamps), the same ones however the film is cut."""
    path = videos.container(tmp_path, suffix)
    _, one, s1 = sampled(path, AUTOPOSTER_FRAMES_REFERENCE_ONLY=reference_only)
    _, many, s3 = sampled(path, segment_seconds=1.4, AUTOPOSTER_FRAMES_REFERENCE_ONLY=reference_only)
    read = lambda rs: sum(r.decoded + r.skipped for r in rs)               # noqa: E731
    assert len(many) == 3 and read(many) == read(one) == videos.FRAMES
    assert sum(r.decoded for r in many) == sum(r.decoded for r in one)
    if reference_only == "true" and suffix != ".webm":                     # VP9 has no disposable frames
        assert sum(r.decoded for r in one) < 0.75 * videos.FRAMES
    assert not s1.video["partial_read"] and not s3.video["partial_read"]
    assert [f.id for f in s3.frames] == [f.id for f in s1.frames]      # no frame lost or sampled twice
    truth = [c / videos.FPS for c in videos.container_cuts() if c]
    assert len(s1.video["cuts"]) == len(truth)
    for found, t in zip(s1.video["cuts"], truth):            # found by the first probe after it (6 a second)
        assert 0 <= found - t <= 1 / 6 + 1 / videos.FPS + 0.01, (found, t)


def test_skipped_frames_never_hide_a_damaged_film(tmp_path):
    """Reference-only reads count the B-frames they pass over as read, from the timestamps; a film cut short
    is still a partial read, and a gap longer than a few frames is never counted as skipped."""
    from autoposter.frames import MAX_SKIPPED, _skipped
    path = videos.container(tmp_path, ".mkv")
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(path.read_bytes()[:int(path.stat().st_size * 0.4)])
    _, results, smp = sampled(cut)
    v = smp.video
    assert v["frames_skipped"] > 0 and v["partial_read"] and v["frames_decoded"] + v["frames_skipped"] < 0.6 * v["frames_expected"]
    assert _skipped(0.0, 3 / 24, 24, 0.0, None) == 2 and _skipped(0.0, 2.0, 24, 0.0, None) == 0
    assert _skipped(0.0, (MAX_SKIPPED + 1) / 24, 24, 0.0, None) == MAX_SKIPPED
    assert _skipped(0.0, 4 / 24, 24, 2 / 24, 3 / 24) == 1                   # a segment counts its own only


def test_a_variable_rate_film_without_b_frames_skips_nothing_and_shows_its_damage(tmp_path):
    """Only gaps of whole frame steps count as skipped frames: a variable-rate stream's own odd gaps never
    do, so cut short it is still a partial read (they used to add up to more frames than the stream had)."""
    import make_films as mf
    path = tmp_path / "vfr.mp4"
    mf.encode(path, videos._footage(videos.SMALL, seconds=8, fps=60, seed=5), fps=60, bitrate=800_000, gop=48,
              vfr=(1, 3), codec="mpeg4", faststart=True)
    _, _, smp = sampled(path)
    assert smp.video["frames_skipped"] == 0 and not smp.video["partial_read"]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[:int(path.stat().st_size * 0.7)])
    _, _, smp = sampled(cut)
    assert smp.video["frames_skipped"] == 0 and smp.video["partial_read"]
    _, results, smp = sampled(videos.vfr(tmp_path, suffix=".mp4"))       # H.264 B-frames, variable rate
    assert sum(r.decoded + r.skipped for r in results) == videos.VFR_FRAMES and not smp.video["partial_read"]


def test_a_variable_rate_matroska_whose_seeks_land_late_loses_no_frame(tmp_path):
    """OpenCV seeks variable-rate .mkv seconds late: the worker notices, seeks further back, and every frame
    is still decoded exactly once."""
    path = videos.vfr(tmp_path, suffix=".mkv")
    _, many, _ = sampled(path, segment_seconds=0.7, AUTOPOSTER_FRAMES_REFERENCE_ONLY="false")
    assert sum(r.decoded for r in many) == videos.VFR_FRAMES
    assert all(a.last < b.first for a, b in zip(many, many[1:]))


def test_the_index_at_the_end(tmp_path):
    path = videos.moov_at_end(tmp_path)
    frames, smp = candidate_frames(path)
    assert frames and smp.video["frames_decoded"] + smp.video["frames_skipped"] == videos.FRAMES


def test_cuts_at_segment_boundaries_are_found_once(tmp_path):
    times = (1.0, 2.5, 4.0)
    path = videos.with_cuts(tmp_path, times)
    truth = [f / videos.FPS for f in videos.cut_frames(times)]
    found = None
    for seconds in (None, 1.0, 2.5, 0.6):                  # boundaries on, just before and between the cuts
        _, _, smp = sampled(path, segment_seconds=seconds)
        cuts = smp.video["cuts"]
        assert len(cuts) == len(truth) and all(0 <= c - t <= 1 / 6 + 1 / videos.FPS + 0.01 for c, t in zip(cuts, truth))
        assert found in (None, cuts), seconds              # the same cuts however the film is cut up
        found = cuts


def test_a_file_without_a_video_stream_is_not_a_video(tmp_path):
    import av
    path = tmp_path / "song.mp4"
    out = av.open(str(path), "w")
    st = out.add_stream("aac", rate=44100)
    for i in range(20):
        fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        fr.sample_rate, fr.pts = 44100, i * 1024
        for pkt in st.encode(fr):
            out.mux(pkt)
    for pkt in st.encode(None):
        out.mux(pkt)
    out.close()
    with pytest.raises(VideoError) as e:
        read_header(VideoSource.local(path))
    assert e.value.code == "Video::NotAVideo"


def test_a_non_utf8_path_reaches_no_library(tmp_path):
    """A path with a byte that is not UTF-8 (it crashed OpenCV): the file is opened by this process."""
    import os
    from conftest import SAMPLE
    raw = os.fsencode(tmp_path) + b"/clip-\xff.mp4"
    with open(raw, "wb") as f:
        f.write(SAMPLE.read_bytes())
    h = read_header(VideoSource.local(os.fsdecode(raw)))
    assert h.width == 854 and "\\xff" in h.name


def test_frame_settings_default_keeps_a_segment_inside_its_worker():
    s = FrameSettings()
    assert s.worker_seconds * 2 <= 100                       # ExtractSegmentFunction's timeout (template.yaml)


# --- keyframes only (scan "keys": long films whose keyframes are dense) -------------------------------------

def _keyframes(path) -> list[float]:
    import av
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        return sorted(float(p.pts * p.time_base) for p in c.demux(st) if p.is_keyframe and p.pts is not None)


def test_a_keyframes_only_read_finds_each_cut_on_its_keyframe(tmp_path):
    """The encoder puts a keyframe on each hard cut: read keyframes only, the cut is found on that very
    frame, which is the shot's after-cut candidate; every candidate is a keyframe, every frame is read or
    counted as skipped, once."""
    times = (1.0, 2.5, 4.0)
    path = videos.with_cuts(tmp_path, times)
    truth = [f / videos.FPS for f in videos.cut_frames(times)]
    keys = _keyframes(path)
    p, results, smp = sampled(path, AUTOPOSTER_FRAMES_SCAN="keys")
    assert p.scan == "keys" and len(p.segments) == 1
    (r,) = results
    assert r.decoded == len(keys) and r.decoded + r.skipped == round(5.0 * videos.FPS)
    assert not smp.video["partial_read"] and smp.video["scan"] == "keys"
    assert smp.video["cuts"] == [round(t, 2) for t in truth]
    assert all(any(abs(f.time - k) < 1e-3 for k in keys) for f in r.frames)
    after = sorted(f.time for f in r.frames if f.after_cut)
    assert len(after) == len(truth) and all(abs(a - t) < 1e-3 for a, t in zip(after, truth))
    _, _, full = sampled(path, AUTOPOSTER_FRAMES_SCAN="full")
    assert len(full.video["cuts"]) == len(truth)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".ts"])
def test_a_keyframes_only_read_counts_every_frame_of_every_container(tmp_path, suffix):
    """Between keyframes (a second apart) the frames count as skipped; after the last one, to the end when no
    more than a GOP remains. A film cut short is a partial read as surely as in a full scan."""
    from autoposter.video import keyframe_interval
    path = videos.container(tmp_path, suffix)
    _, (r,), smp = sampled(path, AUTOPOSTER_FRAMES_SCAN="keys")
    assert r.decoded + r.skipped == videos.FRAMES and not smp.video["partial_read"]
    if suffix == ".webm":          # FFmpeg's VP9 reader decodes every frame anyway: so measured, auto reads it all
        assert r.decoded == videos.FRAMES and keyframe_interval(VideoSource.local(path), 4.0) is None
        # keyframes wider apart than a keys read may have: the decode check is not run, the interval stands
        assert keyframe_interval(VideoSource.local(path), 4.0, useful=0.5) == pytest.approx(1.0, abs=1e-3)
    else:
        assert r.decoded == len(_keyframes(path)) < videos.FRAMES / 10
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(path.read_bytes()[:int(path.stat().st_size * 0.4)])
    try:
        _, _, full = sampled(cut, AUTOPOSTER_FRAMES_SCAN="full")
    except VideoError as e:                              # the index was in the lost part
        assert e.code == "Video::Unreadable"
        return
    _, _, smp = sampled(cut, AUTOPOSTER_FRAMES_SCAN="keys")
    assert smp.video["partial_read"] == full.video["partial_read"]     # (.ts: the count shrinks with the file)
    assert suffix == ".ts" or smp.video["partial_read"]


def test_the_keyframe_interval_is_measured_where_the_film_is_sparsest(tmp_path):
    """Four stretches over the film, read as packets: a film whose opening has a keyframe a second and
    its body one every 8 s measures 8 s, so the planner keeps the full scan; the same film dense
    throughout is read keyframes only (the planner's own wiring, on real files)."""
    from autoposter.pipeline import plan_job
    from autoposter.video import keyframe_interval
    assert keyframe_interval(VideoSource.local(videos.container(tmp_path, ".mp4")), 4.0) == pytest.approx(1.0, abs=1e-3)
    sparse = videos.keyframes_at(tmp_path, list(range(0, 100, 10)) + list(range(180, 600, 80)), seconds=60, name="s.mp4")
    dense = videos.keyframes_at(tmp_path, range(0, 600, 10), seconds=60, name="d.mp4")
    assert keyframe_interval(VideoSource.local(sparse), 60.0) == pytest.approx(8.0, abs=1e-3)
    one = videos.keyframes_at(tmp_path, [0], seconds=40, name="one.mp4")          # a single keyframe: as wide as
    assert keyframe_interval(VideoSource.local(one), 40.0) >= 30                  # what was read beside it
    s = Settings.from_env({"AUTOPOSTER_FRAMES_KEYS_SHARE": "0.01"})
    assert plan_job(VideoSource.local(sparse), s).scan == "full"
    p = plan_job(VideoSource.local(dense), s)
    assert p.scan == "keys" and p.key_interval == pytest.approx(1.0, abs=1e-3)
    assert type(p).from_dict(p.to_dict()) == p


def test_a_keyframes_only_read_passes_long_stretches_of_audio(tmp_path):
    """Between two keyframes 15 s apart a keyframes-only read meets only the packets of six audio tracks;
    OpenCV used to take 4096 of them in a row for the end of the file (the rest of the film was lost)."""
    path = videos.keyframes_at(tmp_path, list(range(0, 100, 10)) + list(range(250, 400, 10)), seconds=40,
                               audio_tracks=6)
    _, (r,), smp = sampled(path, AUTOPOSTER_FRAMES_SCAN="keys")
    assert r.decoded == 25 and r.last == pytest.approx(39.0) and r.decoded + r.skipped == 400
    assert not smp.video["partial_read"]


def test_a_keyframes_only_read_that_stops_early_reads_the_rest_in_full(tmp_path, monkeypatch):
    """A reader that gives up long before the end (here after three keyframes): the rest is decoded as a full
    scan would, from the last keyframe on, so no frame is lost and none is read twice."""
    from autoposter.video import Capture
    path = videos.keyframes_at(tmp_path, range(0, 300, 10), seconds=30)       # a keyframe a second
    real = Capture.grab

    def gives_up(self):
        if self.keyframes_only:
            self.n = getattr(self, "n", 0) + 1
            if self.n > 3:
                return None
        return real(self)
    monkeypatch.setattr(Capture, "grab", gives_up)
    _, (r,), smp = sampled(path, AUTOPOSTER_FRAMES_SCAN="keys")
    assert r.decoded + r.skipped == 300 and not smp.video["partial_read"]
    assert r.last == pytest.approx(29.9) and max(f.time for f in r.frames) >= 29.0


def test_auto_reads_keyframes_only_for_long_films_whose_keyframes_are_dense():
    """Keys when keyframes are ≤ 2.5 s apart, offer half the frame budget, and one core reads them within
    ``keys_seconds``; a short clip, sparse keyframes, a heavy 4K stream, an all-keyframe codec or an
    editor's pinned time keep the full scan."""
    from autoposter.frames import may_read_keys
    from autoposter.video import VideoHeader
    s = FrameSettings()
    hd = lambda secs, w=1920, h=1080, fps=25.0, mbit=8: VideoHeader(             # noqa: E731
        "f.mp4", w, h, fps, int(secs * fps), secs, int(mbit * 1e6 / 8 * secs), 0)
    ten = hd(600)
    assert may_read_keys(ten, s) and plan(ten, s, key_interval=2.0).scan == "keys"
    assert len(plan(ten, s, key_interval=2.0).segments) == 1
    assert plan(ten, s, key_interval=0.5).scan == "keys"
    assert plan(ten, s, key_interval=4.0).scan == "full" and len(plan(ten, s, key_interval=4.0).segments) > 1
    assert plan(ten, s, key_interval=None).scan == "full"
    assert plan(ten, s, key_interval=1 / 25).scan == "full"                # every frame a keyframe
    assert plan(ten, s, pinned=(12.0,), key_interval=2.0).scan == "full"   # a pinned time wants its own frame
    assert plan(ten, FrameSettings(scan="keys"), pinned=(12.0,), key_interval=2.0).scan == "full"
    assert plan(ten, s, key_interval=math.inf).scan == "full"
    assert not may_read_keys(hd(30), s) and plan(hd(30), s, key_interval=1.0).scan == "full"
    assert plan(hd(600, 3840, 2160, 60, 60), s, key_interval=1.0).scan == "full"     # too heavy for one worker
    assert plan(hd(600, 3840, 2160, 30, 40), s, key_interval=2.0).scan == "full"     # 4K: its one pack too large
    assert plan(hd(1200, 1920, 1080, 24, 30), s, key_interval=2.0).scan == "keys"    # the letterboxed episode
    assert plan(hd(4 * 3600), s, key_interval=1.0).scan == "windows"        # far apart candidates: windows
    assert plan(ten, FrameSettings(scan="full"), key_interval=2.0).scan == "full"
