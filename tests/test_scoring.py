"""M10–M13: sharpness, expression, aesthetics, total, choice without near-duplicates, feedback."""
import cv2
import numpy as np
import pytest

from autoposter import scoring
from autoposter.scoring import ScoreSettings
from conftest import photo


def test_sharpness_is_normalised_and_drops_with_blur():
    img = photo("astronaut")
    sharp = scoring.sharpness(img)
    blurred = scoring.sharpness(cv2.GaussianBlur(img, (0, 0), 4))
    assert 0 <= blurred < sharp < 1
    assert blurred < ScoreSettings().sharpness_min < sharp      # the gate separates them
    v = scoring.laplacian_variance(img)
    assert sharp == pytest.approx(v / (v + 120.0))


def test_expression_drops_when_eyes_are_closed(detector):
    img = photo("astronaut")
    face = detector.detect(img)[0]
    open_ = scoring.expression(img, face.box, face.landmarks, face.confidence)
    shut = img.copy()
    (lx, ly), (rx, ry) = face.landmarks[:2]
    d = rx - lx
    for ex, ey in ((lx, ly), (rx, ry)):             # paint skin over the eyes: a "mid-blink" face
        x1, y1 = int(ex - d * 0.3), int(ey - d * 0.18)
        skin = img[int(ey + d * 0.45), int(ex)].tolist()
        cv2.rectangle(shut, (x1, y1), (int(ex + d * 0.3), int(ey + d * 0.18)), skin, -1)
    closed = scoring.expression(shut, face.box, face.landmarks, face.confidence)
    assert closed["eyes_open"] < open_["eyes_open"]
    assert closed["score"] < open_["score"]
    assert 0 <= closed["score"] <= 1


def test_expression_drops_with_an_open_mouth(detector):
    img = photo("grace_hopper")
    face = detector.detect(img)[0]
    base = scoring.expression(img, face.box, face.landmarks)
    talk = img.copy()
    (mlx, mly), (mrx, mry) = face.landmarks[3:5]
    cv2.ellipse(talk, (int((mlx + mrx) / 2), int((mly + mry) / 2)), (int((mrx - mlx) * 0.3), int((mrx - mlx) * 0.22)),
                0, 0, 360, (20, 15, 30), -1)
    assert scoring.expression(talk, face.box, face.landmarks)["mouth_calm"] < base["mouth_calm"]


def test_aesthetics_prefers_exposed_colourful_frames():
    img = photo("coffee")
    good = scoring.aesthetics(img)["score"]
    dark = scoring.aesthetics((img * 0.15).astype(np.uint8))["score"]
    grey = scoring.aesthetics(cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))["score"]
    assert good > dark and good > grey


def test_total_is_the_weighted_mean():
    s = ScoreSettings(w_sharpness=1, w_aesthetics=2, w_expression=3)
    assert scoring.total(0.6, 0.3, 0.9, s) == pytest.approx((0.6 + 0.6 + 2.7) / 6)
    # no face kept: the third term is missing_expression, so a faceless frame is not lifted by a missing term
    assert scoring.total(0.6, 0.3, None, s) == pytest.approx((0.6 + 0.6 + 3 * s.missing_expression) / 6)
    low = ScoreSettings(missing_expression=0.0)
    assert scoring.total(0.9, 0.9, None, low) < scoring.total(0.9, 0.9, 0.5, low)


class C:
    def __init__(self, total, img, shot=0, t=None):
        self.total, self.dhash = total, scoring.dhash(img)
        self.shot, self.frame_time = shot, (t if t is not None else total * 100)


def test_choose_top_k_without_near_duplicates():
    a, b = photo("astronaut"), photo("coffee")
    cands = [C(0.9, a), C(0.85, cv2.GaussianBlur(a, (3, 3), 0)), C(0.8, b), C(0.7, photo("chelsea"))]
    chosen = scoring.choose(cands, 2, 10)
    assert [c.total for c in chosen] == [0.9, 0.8]          # the blurred copy of a is a near-duplicate
    assert len(scoring.choose(cands, 10, 10)) == 3


def test_feedback_moves_the_ranking():
    base = 0.6
    clicked = scoring.blend_feedback(base, ctr=0.10, retention=0.9, weight=0.3)
    ignored = scoring.blend_feedback(base, ctr=0.0, retention=0.1, weight=0.3)
    assert ignored < base < clicked
    assert scoring.blend_feedback(base, None, None, 0.3) == base


def test_one_poster_per_shot_while_shots_last_and_never_one_moment_twice():
    imgs = [photo(n) for n in ("astronaut", "coffee", "chelsea", "camera", "rocket")]
    # shot 0 has the three best frames (a montage's long portrait shot); shots 1 and 2 one each
    cands = [C(0.95, imgs[0], 0, 1.0), C(0.94, imgs[1], 0, 5.0), C(0.93, imgs[2], 0, 9.0),
             C(0.70, imgs[3], 1, 20.0), C(0.60, imgs[4], 2, 30.0)]
    assert [c.shot for c in scoring.choose(cands, 3, 10)] == [0, 1, 2]
    # more posters than shots: the rest come from the best remaining, not from the same moment
    near = C(0.96, photo("grace_hopper"), 0, 1.5)
    chosen = scoring.choose(cands + [near], 4, 10)
    assert len(chosen) == 4 and not (near in chosen and cands[0] in chosen)
    assert {c.shot for c in chosen} == {0, 1, 2}


def test_sharpness_is_judged_at_the_posters_scale():
    img = photo("astronaut")
    small = cv2.resize(img, (81, 144), interpolation=cv2.INTER_AREA)       # an 81-px-wide crop for a story
    sharp_native = scoring.sharpness(small)
    sharp_output = scoring.sharpness_at_output(small, (1080, 1920))
    sharp_big = scoring.sharpness_at_output(cv2.resize(img, (540, 960)), (1080, 1920))
    assert sharp_output < sharp_native and sharp_output < sharp_big       # a 13x blow-up cannot pass as sharp


def test_a_static_cameras_frames_are_one_content_and_ties_go_to_what_a_person_notices():
    """16 frames of one shot from a fixed camera, flat scores: noise apart, they are one picture — one poster,
    not three; between two equal scores, the frame that keeps more people wins."""
    from types import SimpleNamespace as NS
    base = cv2.resize(photo("coffee"), (160, 120))
    rng = np.random.default_rng(1)
    frames = [np.clip(base.astype(int) + rng.integers(-6, 7, base.shape), 0, 255).astype(np.uint8) for _ in range(16)]
    cands = [NS(total=0.576 + 0.0002 * i, dhash=scoring.dhash(f), shot=0, frame_time=5.0 * i, faces=[1, 2],
                scores={"sharpness": 0.5}) for i, f in enumerate(frames)]
    assert len(scoring.choose(cands, 3, 10)) == 1
    a = NS(total=0.701, dhash=scoring.dhash(frames[0]), shot=1, frame_time=1.0, faces=[1], scores={"sharpness": 0.9})
    b = NS(total=0.699, dhash=scoring.dhash(photo("astronaut")), shot=2, frame_time=9.0, faces=[1, 2],
           scores={"sharpness": 0.6})
    assert scoring.choose([a, b], 1, 10) == [b]              # 0.70 each: two people beat one


def test_sharpness_at_output_reuses_the_reduced_crop_only_when_it_is_the_same_resample():
    import cv2
    import numpy as np
    from autoposter.images import downscale
    from autoposter.scoring import sharpness_at_output
    rng = np.random.default_rng(3)
    region = cv2.GaussianBlur(rng.integers(0, 255, (1080, 608, 3), dtype=np.uint8), (0, 0), 1.5)
    reduced = downscale(region, 512)                              # 288×512: the story's own resample
    assert sharpness_at_output(region, (1080, 1920), reduced=reduced) == sharpness_at_output(region, (1080, 1920))
    wrong = downscale(region, 300)                                # another size: not used
    assert sharpness_at_output(region, (1080, 1920), reduced=wrong) == sharpness_at_output(region, (1080, 1920))
    small = region[:100, :56]                                     # enlarged: cubic, never the reduced copy
    assert sharpness_at_output(small, (1080, 1920), reduced=small) == sharpness_at_output(small, (1080, 1920))


def test_window_scores_on_grey_and_halvings_match_the_colour_measures():
    """The window scores read one grey copy of the frame and its colour halvings (analysis.FrameViews),
    a third of the resize work; they must agree with the measures on the colour window itself."""
    from autoposter.analysis import FrameViews
    from autoposter.images import downscale
    grey_half = cv2.cvtColor(cv2.cvtColor(cv2.resize(photo("astronaut"), (600, 500)), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    img = cv2.resize(np.hstack([grey_half, cv2.resize(photo("coffee"), (600, 500))]), (1920, 1080),
                     interpolation=cv2.INTER_CUBIC)           # a grey half and a colourful one
    views = FrameViews(img)
    for x, y, w, h in ((0, 0, 608, 1080), (500, 0, 1080, 1080), (0, 0, 1920, 1080), (1200, 300, 400, 700)):
        colour = downscale(img[y:y + h, x:x + w], 512)
        grey = downscale(views.gray[y:y + h, x:x + w], 512)
        assert grey.shape == colour.shape[:2]
        out = (1080, 1920) if h > w else (1080, 1080)
        s_col = scoring.sharpness_at_output(img[y:y + h, x:x + w], out, reduced=colour)
        s_grey = scoring.sharpness_at_output(views.gray[y:y + h, x:x + w], out, reduced=grey)
        assert s_grey == pytest.approx(s_col, abs=0.005)
        a_col = scoring.aesthetics(colour)
        a_grey = scoring.aesthetics(grey, in_colour=views.colour(x, y, w, h, scoring.AESTHETICS_SIDE))
        for k in ("exposure", "contrast", "colourfulness", "score"):
            assert a_grey[k] == pytest.approx(a_col[k], abs=0.01), k
        assert scoring.hamming(scoring.dhash(grey), scoring.dhash(colour)) <= 2
    assert scoring.aesthetics(views.gray)["colourfulness"] == 0.0      # grey alone has no colour: in_colour is needed


def test_a_window_on_an_odd_frames_last_column_has_colour():
    """A halving drops an odd last row or column: a window there still reads pixels (it used to be empty)."""
    from autoposter.analysis import FrameViews
    img = np.full((1081, 1921, 3), 90, np.uint8)
    views = FrameViews(img)
    for x, y, w, h in ((1920, 0, 1, 1081), (0, 1080, 1921, 1), (1919, 1079, 2, 2)):
        c = views.colour(x, y, w, h, scoring.AESTHETICS_SIDE)
        assert c.size > 0 and int(c.mean()) == 90


def test_a_head_the_picture_itself_slices_ranks_its_frame_lower():
    """A close-up under a letterbox: the face's landmarks put the crown 42 px above the active picture
    (eyes at 130, mouth at 170: the head runs 1.8 eye-to-mouth distances above the eyes), about 30 % of
    the head. No window can mend that, so every poster of the frame ranks lower; the same face lower in
    the picture costs nothing."""
    from autoposter.analysis import FrameResult, score_crops
    from autoposter.faces import Face
    from autoposter.geometry import Box
    from autoposter.settings import Settings
    img = np.full((600, 800, 3), 120, np.uint8)
    cv2.circle(img, (400, 250), 60, (90, 120, 200), -1)
    def frame(dy):
        marks = ((380, 130 + dy), (420, 130 + dy), (400, 150 + dy), (385, 170 + dy), (415, 170 + dy))
        face = Face(Box(360, 100 + dy, 80, 90), 0.99, marks)
        return FrameResult(0.0, 0, 800, 600, [face], None, quality=0.8, active=Box(0, 100, 800, 400))
    cut, whole = frame(0), frame(150)
    assert cut.head_out(0.25) == pytest.approx(42 / (3.55 * 40), abs=1e-6) and whole.head_out(0.25) == 0.0
    s = Settings.from_env({})
    off = Settings.from_env({}, **{"score.source_cut_penalty": 0.0})
    on_c, off_c = score_crops(img, cut, ["feed"], s)[0], score_crops(img, cut, ["feed"], off)[0]
    assert on_c.scores["total"] == pytest.approx(off_c.scores["total"] * (1 - 0.2 * cut.head_out(0.25)), abs=2e-4)
    assert score_crops(img, whole, ["feed"], s)[0].scores["total"] == score_crops(img, whole, ["feed"], off)[0].scores["total"]
