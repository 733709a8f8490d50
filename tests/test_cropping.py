"""M4–M7 crop geometry, with the numbers of the spec, plus hypothesis properties."""
import math

from hypothesis import given, settings, strategies as st

from autoposter.cropping import (SCENARIOS, CropSettings, clear_head, crop_center, crop_window, group_faces,
                                 inside_share, person_face, plan_crop)
from autoposter.geometry import Box


# --- M4: the three aspect cases -------------------------------------------------

def test_wider_than_target_keeps_full_height():
    # 1920x1080 to 9:16 -> height 1080, width round(1080*9/16) = 608, centred on x=960
    w = crop_window(1920, 1080, 9 / 16, (960, 540))
    assert (w.h, w.w) == (1080, 608)
    assert w.y == 0 and w.x == round(960 - 304)


def test_taller_than_target_keeps_full_width():
    # 1080x1920 to 16:9 -> width 1080, height round(1080/(16/9)) = 608, centred on y=1000
    w = crop_window(1080, 1920, 16 / 9, (540, 1000))
    assert (w.w, w.h) == (1080, 608)
    assert w.x == 0 and w.y == 1000 - 304


def test_equal_aspect_within_one_pixel_means_no_crop():
    assert crop_window(1080, 1080, 1.0, (10, 10)) == Box(0, 0, 1080, 1080)
    # 1081x1080 to 1:1 is "equal within one pixel"
    assert crop_window(1081, 1080, 1.0, (0, 0)) == Box(0, 0, 1081, 1080)
    # 1082x1080 is not
    assert crop_window(1082, 1080, 1.0, (0, 0)).w == 1080


def test_window_shifted_not_shrunk_at_left_and_right_borders():
    left = crop_window(1920, 1080, 1.0, (10, 540))
    right = crop_window(1920, 1080, 1.0, (1915, 540))
    assert left == Box(0, 0, 1080, 1080)
    assert right == Box(1920 - 1080, 0, 1080, 1080)


def test_window_shifted_at_top_and_bottom_borders():
    top = crop_window(1080, 1920, 1.0, (540, 0))
    bottom = crop_window(1080, 1920, 1.0, (540, 1920))
    assert top == Box(0, 0, 1080, 1080)
    assert bottom == Box(0, 840, 1080, 1080)


# --- M5: crop centre --------------------------------------------------------------

def test_no_face_uses_salient_centre_then_image_centre():
    sal = Box(100, 200, 300, 100)
    assert crop_center(1000, 800, [], sal) == (250, 250)
    assert crop_center(1000, 800, [], None) == (500, 400)


def test_face_centre_outside_salient_region_wins_alone():
    face = Box(800, 100, 100, 100)          # centre (850, 150)
    sal = Box(0, 400, 400, 300)             # does not contain (850, 150)
    assert crop_center(1000, 800, [face], sal, CropSettings(alpha=0.3)) == (850, 150)


def test_face_centre_inside_salient_region_is_weighted():
    face = Box(100, 100, 100, 100)          # c1 = (150, 150)
    sal = Box(0, 0, 1000, 600)              # c2 = (500, 300)
    cx, cy = crop_center(1000, 800, [face], sal, CropSettings(alpha=0.7))
    assert math.isclose(cx, 0.7 * 150 + 0.3 * 500)
    assert math.isclose(cy, 0.7 * 150 + 0.3 * 300)


# --- M6: several faces --------------------------------------------------------------

def test_dilation_merges_near_faces_only():
    a, b = Box(0, 0, 100, 100), Box(120, 0, 100, 100)   # 20 px apart
    assert len(group_faces([a, b], 1.0)) == 2             # no dilation: separate
    groups = group_faces([a, b], 1.5)                     # 25 px growth each side: they touch
    assert groups == [Box(0, 0, 220, 100)]


def test_transitive_merge_and_largest_group_wins():
    a, b, c = Box(0, 0, 100, 100), Box(130, 0, 100, 100), Box(260, 0, 100, 100)  # a~b, b~c, a!~c
    far = Box(1000, 1000, 150, 150)
    groups = group_faces([far, a, c, b], 1.5)
    assert groups[0] == Box(0, 0, 360, 100)               # area 36000 > 22500
    assert groups[1] == far
    # the centre comes from the largest group
    assert crop_center(2000, 2000, [far, a, b, c], None) == (180, 50)


# --- M7: scenarios -----------------------------------------------------------------

def test_scenarios_and_sizes():
    assert {n: (s.width, s.height) for n, s in SCENARIOS.items()} == {
        "story": (1080, 1920), "feed": (1080, 1080), "portrait": (1080, 1350),
        "landscape": (1920, 1080), "cover": (1000, 1500)}


# --- properties ----------------------------------------------------------------------

sizes = st.integers(16, 4000)
aspects = st.sampled_from([9 / 16, 1.0, 4 / 5, 16 / 9, 2 / 3, 3 / 1, 1 / 3])


@st.composite
def frame_and_faces(draw):
    w, h = draw(sizes), draw(sizes)
    n = draw(st.integers(0, 4))
    faces = []
    for _ in range(n):
        fw = draw(st.integers(1, max(1, w // 3)))
        fh = draw(st.integers(1, max(1, h // 3)))
        faces.append(Box(draw(st.integers(0, w - fw)), draw(st.integers(0, h - fh)), fw, fh))
    sal = None
    if draw(st.booleans()):
        sw, sh = draw(st.integers(1, w)), draw(st.integers(1, h))
        sal = Box(draw(st.integers(0, w - sw)), draw(st.integers(0, h - sh)), sw, sh)
    return w, h, faces, sal


@settings(max_examples=400, deadline=None)
@given(frame_and_faces(), aspects, st.floats(0, 1), st.floats(1.0, 3.0))
def test_window_inside_image_with_target_aspect_and_holding_the_group(case, aspect, alpha, dilation):
    w, h, faces, sal = case
    plan = plan_crop(w, h, type("S", (), {"aspect": aspect})(), faces, sal, CropSettings(alpha=alpha, dilation=dilation))
    win, group = plan.window, plan.group
    assert win.x >= 0 and win.y >= 0 and win.x2 <= w and win.y2 <= h
    assert win.w >= 1 and win.h >= 1
    if (win.w, win.h) != (w, h):
        # target aspect within one pixel
        assert abs(win.w - win.h * aspect) <= 1 or abs(win.h - win.w / aspect) <= 1
        assert win.w == w or win.h == h          # never shrunk: one side is full
    if group is not None and math.ceil(group.x2) - math.floor(group.x) <= win.w \
            and math.ceil(group.y2) - math.floor(group.y) <= win.h:
        assert win.contains(group)


def _sliced(faces, win, s=CropSettings()):
    eps = 1e-9                        # a share exactly on the 5 % / 95 % line is not "cut" (float noise aside)
    return [f for f in faces if s.outside + eps < inside_share(f, win) < s.whole - eps]


@settings(max_examples=400, deadline=None)
@given(frame_and_faces(), aspects)
def test_no_face_is_sliced_when_a_clean_window_exists(case, aspect):
    """Q1: if some position of the window (holding the group when it fits) slices nobody, the plan
    slices nobody; otherwise it says which faces it cut."""
    w, h, raw, sal = case
    sc = type("S", (), {"aspect": aspect})()
    plan = plan_crop(w, h, sc, raw, sal)
    faces = [person_face(f, CropSettings().face_margin, w, h) for f in raw]        # what the rule protects
    win = plan.window
    assert sorted(plan.faces_cut) == sorted(i for i, f in enumerate(faces) if f in _sliced(faces, win))
    if plan.faces_cut and (win.w, win.h) != (w, h):
        horizontal = win.w < w
        span = (w - win.w) if horizontal else (h - win.h)
        g = plan.group
        fits = g is not None and (g.w <= win.w if horizontal else g.h <= win.h)
        for st_ in range(0, span + 1):
            other = Box(st_, 0, win.w, win.h) if horizontal else Box(0, st_, win.w, win.h)
            if fits and not other.contains(g, tol=0.5):
                continue
            assert _sliced(faces, other), f"start {st_} slices nobody, the plan sliced {plan.faces_cut}"


def test_two_people_apart_both_kept_whole_or_one_left_out_cleanly():
    """The issue's case: two people side by side, portrait 4:5 — never a quarter of a face."""
    w, h = 1920, 1080
    left, right = Box(520, 300, 200, 240), Box(1100, 320, 190, 230)
    plan = plan_crop(w, h, SCENARIOS["portrait"], [left, right], None)
    assert plan.faces_cut == ()
    assert plan.window.contains(left) and plan.window.contains(right)       # both fit in 864 px: both kept


def test_fixed_layer_pushes_the_window_off_a_forehead():
    """Q2: a logo across the top-left of a story poster: the window moves so it covers no face."""
    w, h = 1920, 1080
    face = Box(700, 120, 220, 260)
    logo = [(0.0, 0.0, 0.45, 0.35)]
    from autoposter.cropping import _cover
    free = plan_crop(w, h, SCENARIOS["story"], [face], None)             # M4–M6 alone
    pushed = plan_crop(w, h, SCENARIOS["story"], [face], None, avoid=logo)
    assert _cover(free.window, logo, [face], [0]) > 0.05 and pushed.layer_cover <= 0.05
    assert pushed.window.contains(face) and pushed.faces_cut == ()


layers = st.lists(st.tuples(st.floats(0, 0.7), st.floats(0, 0.7), st.floats(0.05, 0.3), st.floats(0.03, 0.2)),
                  max_size=2)


@settings(max_examples=300, deadline=None)
@given(frame_and_faces(), aspects, layers)
def test_fixed_layers_stay_off_kept_faces_when_a_window_allows_it(case, aspect, avoid):
    """Q2: if some position holds the group, slices nobody and keeps every fixed layer within 5 % of
    each kept face, the plan finds such a position; its recorded cover is the real one."""
    from autoposter.cropping import _cover
    w, h, raw, sal = case
    sc = type("S", (), {"aspect": aspect})()
    s = CropSettings()
    plan = plan_crop(w, h, sc, raw, sal, s, avoid)
    faces = [person_face(f, s.face_margin, w, h) for f in raw]
    win = plan.window
    kept = [i for i, f in enumerate(faces) if inside_share(f, win) >= s.whole]
    assert abs(_cover(win, avoid, faces, kept) - plan.layer_cover) < 1e-6
    if (win.w, win.h) == (w, h) or not raw or plan.layer_cover <= s.layer_cover:
        return
    horizontal = win.w < w
    g = plan.group
    fits = g.w <= win.w if horizontal else g.h <= win.h
    for st_ in range(0, ((w - win.w) if horizontal else (h - win.h)) + 1):
        other = Box(st_, 0, win.w, win.h) if horizontal else Box(0, st_, win.w, win.h)
        if (fits and not other.contains(g, tol=0.5)) or _sliced(faces, other):
            continue
        others_kept = [i for i, f in enumerate(faces) if inside_share(f, other) >= s.whole]
        assert _cover(other, avoid, faces, others_kept) > s.layer_cover, f"start {st_} was clean"


# --- Q7: nobody in the frame — the window keeps an object whole, between objects ----------------

def _profile_of(sal):
    from autoposter.saliency import profile
    return profile(sal)


def test_faceless_window_keeps_the_lead_whole_rather_than_centring_on_two_objects():
    import numpy as np
    sal = np.zeros((90, 160), np.float32)
    sal[20:80, 20:60] = 1.0                  # the lead: an animal on the left
    sal[30:70, 95:150] = 0.8                 # a second object on the right (a bicycle)
    union = Box(20 * 12, 20 * 12, 130 * 12, 60 * 12)       # frame 1920×1080 = map × 12
    centred = plan_crop(1920, 1080, SCENARIOS["story"], [], union)
    seam = plan_crop(1920, 1080, SCENARIOS["story"], [], union, profile=_profile_of(sal))
    lead = Box(20 * 12, 20 * 12, 40 * 12, 60 * 12)
    assert inside_share(lead, centred.window) < 0.9          # the union's centre cuts the lead
    assert inside_share(lead, seam.window) >= 0.95           # the seam keeps it whole
    assert seam.window.w == centred.window.w and seam.window.h == 1080


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 120), st.integers(5, 30), st.sampled_from(["story", "feed", "portrait", "cover"]))
def test_seam_window_is_the_spec_window_size_inside_the_frame(x, w, name):
    import numpy as np
    sal = np.zeros((90, 160), np.float32)
    sal[30:60, x:x + w] = 1.0
    plan = plan_crop(1920, 1080, SCENARIOS[name], [], None, profile=_profile_of(sal))
    base = crop_window(1920, 1080, SCENARIOS[name].aspect, (960, 540))
    assert (plan.window.w, plan.window.h) == (base.w, base.h)
    assert 0 <= plan.window.x and plan.window.x2 <= 1920
    blob = Box(x * 12, 360, w * 12, 360)
    if blob.w <= base.w:                                      # one object that fits: kept whole
        assert inside_share(blob, plan.window) >= 0.95


def test_window_edges_keep_clear_of_heads_where_that_costs_nobody():
    """Q1 with a margin: a detector's head is a few pixels off the real one, so among windows that
    cut nobody the plan takes one whose edges keep a tenth of a head clear of it."""
    w, h = 1920, 1080
    a, b = Box(600, 300, 200, 240), Box(900, 300, 120, 144)        # both fit a 9:16 window, just
    tight = plan_crop(w, h, SCENARIOS["story"], [a, b], None, CropSettings(head_clearance=0.0, head_clearance_min=0.0))
    roomy = plan_crop(w, h, SCENARIOS["story"], [a, b], None)
    assert tight.faces_cut == () and roomy.faces_cut == ()
    ha, hb = (person_face(f, 0.2, w, h) for f in (a, b))
    assert all(win.contains(ha) and win.contains(hb) for win in (tight.window, roomy.window))
    assert tight.window.x2 - hb.x2 < 1                             # without the margin: the edge on the hair
    assert roomy.window.x2 - hb.x2 >= (0.1 - 0.05 * 1.2) * hb.w - 1   # with it: clear (the 95 % rule's slack aside)


def test_small_heads_get_a_clearance_in_pixels_of_the_picture():
    """A pedestrian's head 14 px wide is off by as many pixels as a close-up's: the edge keeps at least
    ``head_clearance_min`` of the picture's shorter side clear, not a tenth of 14 px."""
    w, h = 768, 576
    small = Box(100, 100, 14, 16)
    near = lambda a, b: all(abs(u - v) < 1e-6 for u, v in zip(a.to_list(None), b.to_list(None)))  # noqa: E731
    assert near(clear_head(small, 0.1, w, h, 0.01 * h), Box(100 - 5.76, 100 - 5.76, 14 + 11.52, 16 + 11.52))
    assert near(clear_head(small, 0.1, w, h), Box(98.6, 98.4, 16.8, 19.2))
    big = Box(100, 100, 200, 240)                                   # large heads: the share decides
    assert clear_head(big, 0.1, w, h, 0.01 * h) == clear_head(big, 0.1, w, h)
    a, b = Box(210, 300, 14, 16), Box(490, 280, 14, 16)             # a 9:16 window (324 px) holds both
    p = plan_crop(w, h, SCENARIOS["story"], [a, b], None, CropSettings())
    assert p.faces_cut == ()
    ha, hb = (person_face(f, 0.2, w, h) for f in (a, b))
    assert min(p.window.x2 - hb.x2, ha.x - p.window.x) >= 0.01 * h - 1.5


def test_a_small_face_behind_the_lead_neither_joins_the_group_nor_costs_the_lead_its_body():
    """A lead with a small diner's face just behind her (under person_share of her head's area): the
    group is the lead alone, so the window is free to keep her arm rather than the diner's face."""
    lead_head, diner = Box(214, 107, 206, 270), Box(423, 154, 62, 90)
    lead_body = Box(120, 81, 325, 447)
    s = CropSettings()
    assert diner.area < s.person_share * lead_head.area
    plan = plan_crop(720, 528, SCENARIOS["cover"], [], None, s, (), [lead_head, diner], [lead_body])
    assert plan.group == lead_head
    assert inside_share(lead_body, plan.window) >= 0.95 and not plan.faces_cut
    # the same diner at a person's size is one of the group and is kept
    near = Box(423, 154, 150, 190)
    plan2 = plan_crop(720, 528, SCENARIOS["cover"], [], None, s, (), [lead_head, near], [lead_body])
    assert plan2.group.contains(lead_head.union(near), tol=1) and inside_share(near, plan2.window) >= 0.95


def test_the_seam_can_pull_a_faceless_window_to_the_centre():
    """``seam_centre``: a map spread evenly over a wide subject leaves the seam no preference but M5's
    window (here the left end); the pull brings the window to the centre. A distinct subject off
    centre still wins against a small pull."""
    from autoposter.cropping import seam_start
    n = 64
    flat = {"x": [1.0 / n] * n, "x_peak": [0.5] * n}
    assert seam_start(flat, "x", 1920, 608, 0.25, prefer=0) == 0
    assert seam_start(flat, "x", 1920, 608, 0.25, prefer=0, centre=0.1) == (1920 - 608) // 2
    mass = [0.0] * n
    for i in range(4, 16):
        mass[i] = 1.0 / 12
    left = {"x": mass, "x_peak": [1.0 if 4 <= i < 16 else 0.0 for i in range(n)]}
    assert seam_start(left, "x", 1920, 608, 0.25, prefer=900, centre=0.1) < 200


def test_a_back_view_is_kept_whole_but_does_not_lead_the_window():
    """A man facing us at the left, a larger one seen from behind at the right (found on the learned map,
    ``Person.lead`` False): the story centres on the face we see; with both leading, the larger head won."""
    front, back = Box(60, 80, 45, 55), Box(500, 20, 100, 100)
    heads = [back, front]
    led = plan_crop(640, 480, SCENARIOS["story"], [], None, heads=heads, leads=[False, True])
    assert inside_share(front, led.window) == 1.0 and inside_share(back, led.window) == 0.0
    both = plan_crop(640, 480, SCENARIOS["story"], [], None, heads=heads, leads=[True, True])
    assert inside_share(back, both.window) == 1.0
    assert plan_crop(640, 480, SCENARIOS["story"], [], None, heads=heads).window == both.window


def test_a_fixed_layer_moves_off_a_faceless_leads_head_where_the_window_can_move():
    """Q2 for a lead nobody detects (a robot, a drawn character): a logo on its top band, where its head
    is (``subject_top``), moves the window when a window holding it whole is clear, as it would for a
    person's head; a window that holds only a part of the lead stays where the seam put it."""
    import numpy as np

    from autoposter.cropping import _band_cover, subject_top

    logo = ((0.03, 0.02, 0.6, 0.23),)                         # a tall logo top-left, poster fractions
    subject = Box(200, 300, 700, 800)                         # a tall lead the 1080-px window holds whole

    def plans(sal, lead=subject):
        return (plan_crop(1080, 1900, SCENARIOS["feed"], [], lead, profile=_profile_of(sal)),
                plan_crop(1080, 1900, SCENARIOS["feed"], [], lead, avoid=logo, profile=_profile_of(sal)))

    def band_covered(plan, lead=subject):
        return _band_cover(np.array([float(plan.window.y)]), 1080, 1080, False, logo, subject_top(lead))[0]

    sal = np.zeros((1900, 1080), np.float32)
    sal[300:1100, 200:900] = 0.3
    sal[1100:1300, 200:900] = 1.5       # something below it: a window lower down, cutting the lead, holds more
    free, moved = plans(sal)
    assert inside_share(subject, free.window) == 1.0 and band_covered(free) > CropSettings().layer_cover
    assert band_covered(moved) <= CropSettings().layer_cover
    assert inside_share(subject, moved.window) == 1.0       # kept whole: not the clear window that cuts it
    assert moved.window.y < free.window.y and moved.window.h == free.window.h

    sal[1100:1480, 200:900] = 1.5       # the seam's window now cuts the lead's top: no move
    free, moved = plans(sal)
    assert inside_share(subject, free.window) < 1.0 and band_covered(free) > CropSettings().layer_cover
    assert moved.window == free.window

    cup = Box(200, 300, 700, 1500)                           # a lead the window cannot hold whole: no move
    sal[:] = 0
    sal[300:1800, 200:900] = 1.0
    free, moved = plans(sal, cup)
    assert band_covered(free, cup) > CropSettings().layer_cover and moved.window == free.window
