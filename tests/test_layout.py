"""M8 placement rules: fixed layers keep their aspect; free layers avoid faces and salient."""
import numpy as np
from hypothesis import given, settings, strategies as st

from autoposter.geometry import Box
from autoposter.layout import fixed_box, free_box, region_px


def test_fixed_layer_keeps_its_aspect_inside_its_region():
    region = Box(100, 50, 400, 100)
    b = fixed_box(region, 2.0)                  # region is 4:1 -> full height, width 200, centred
    assert (b.w, b.h) == (200, 100) and b.x == 200 and b.y == 50
    left, right = fixed_box(region, 2.0, "left"), fixed_box(region, 2.0, "right")
    assert left.x == 100 and right.x2 == 500
    tall = fixed_box(region, 8.0)               # wider than region -> full width
    assert (tall.w, tall.h) == (400, 50) and tall.y == 75


@settings(max_examples=200, deadline=None)
@given(st.integers(10, 2000), st.integers(10, 2000), st.floats(0.05, 20))
def test_fixed_box_property(rw, rh, aspect):
    region = Box(7, 9, rw, rh)
    b = fixed_box(region, aspect)
    assert region.contains(b, tol=1)
    assert abs(b.w / b.h - aspect) <= max(1 / b.h, 1 / b.w) * (aspect + 1) + 1e-6 or min(b.w, b.h) <= 2
    assert b.w >= rw - 1 or b.h >= rh - 1      # the largest such box: touches two sides


def test_region_fractions_to_pixels():
    assert region_px((0.1, 0.2, 0.5, 0.25), 1000, 2000) == Box(100, 400, 500, 500)


def test_free_layer_picks_the_spot_with_least_intersection():
    gray = np.zeros((400, 400), np.uint8)
    region = Box(0, 0, 400, 400)
    face = Box(0, 0, 400, 150)                  # covers the top
    sal = Box(0, 250, 400, 150)                 # covers the bottom
    p = free_box(gray, region, (400, 100), [face], sal)
    assert p.overlap == 0
    assert p.box.y >= 150 and p.box.y2 <= 250


def test_free_layer_minimal_intersection_when_none_is_free():
    gray = np.zeros((300, 300), np.uint8)
    sal = Box(0, 0, 300, 200)                   # title 300x150 cannot avoid it; least overlap at bottom
    p = free_box(gray, Box(0, 0, 300, 300), (300, 150), [], sal)
    assert p.box.y == 150 and p.overlap == 300 * 50


def test_variance_breaks_ties_between_free_spots():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, (300, 300)).astype(np.uint8)
    gray[200:300, 0:100] = 128                   # a flat patch: smallest variance
    p = free_box(gray, Box(0, 0, 300, 300), (100, 100), [], None)
    assert p.overlap == 0
    assert (p.box.x, p.box.y) == (0, 200)
    assert p.variance == 0


def test_faces_are_avoided_before_the_salient_region():
    gray = np.zeros((400, 400), np.uint8)
    face = Box(150, 0, 100, 100)                 # small face on top
    body = Box(0, 100, 400, 300)                 # large salient body below
    p = free_box(gray, Box(0, 0, 400, 400), (400, 100), [face], body)
    assert p.box.intersection(face) is None
    # without faces_first, the rule "least merged intersection" alone would cover the face
    q = free_box(gray, Box(0, 0, 400, 400), (400, 100), [face], body, faces_first=False)
    assert q.box.intersection(face) is not None


def test_free_layer_stays_inside_its_placement_region():
    gray = np.zeros((500, 500), np.uint8)
    region = Box(50, 60, 300, 200)
    p = free_box(gray, region, (120, 40), [Box(0, 0, 500, 100)], None)
    assert region.contains(p.box)
    assert all(region.contains(c) for c in p.candidates)


def test_a_title_narrows_before_it_covers_a_body():
    import numpy as np
    from autoposter.layout import BODY_CLEAR, covers, free_place
    gray = np.full((1080, 1080), 128, np.uint8)
    head, body = Box(700, 80, 200, 240), Box(600, 60, 400, 1020)       # a person filling the right half
    region = Box(43, 130, 994, 918)
    pl = free_place(gray, region, (950, 184), [head], None, "title", bodies=[body])
    h, b = covers(pl.box, [head], [body])
    assert h == 0.0 and b <= BODY_CLEAR
    assert pl.box.w < 950 and pl.extra.get("narrowed")                  # the full width could not stay off
    wide = free_place(gray, region, (950, 184), [head], None, "title")  # nobody's body: full width
    assert wide.box.w == 950


def test_a_title_shrinks_when_no_narrower_one_keeps_off_the_bodies():
    """A person fills the poster: only the smallest title covers at most BODY_CLEAR of their body.
    When no size is clear (a row of people), the title keeps the template's height: a small
    title slipped between chests reads worse than a full one over legs."""
    import numpy as np
    from autoposter.layout import BODY_CLEAR, SHRINK, covers, free_place
    gray = np.full((1080, 1080), 128, np.uint8)
    region = Box(43, 130, 994, 918)
    head, body = Box(400, 60, 280, 300), Box(0, 40, 1080, 960)
    pl = free_place(gray, region, (950, 184), [head], None, "title", bodies=[body])
    assert pl.extra.get("shrunk") and pl.box.h < 184                      # smaller, both ways
    assert (pl.box.w, pl.box.h) in {(round(950 * kw), round(184 * kh)) for kw, kh in SHRINK}
    h, b = covers(pl.box, [head], [body])
    assert h == 0.0 and b <= BODY_CLEAR
    heads = [Box(216 * i + 40, 50, 136, 160) for i in range(5)]
    bodies = [Box(216 * i, 40, 216, 1040) for i in range(5)]             # a row of five, full height
    two = free_place(gray, region, (950, 184), heads, None, "title", bodies=bodies)
    assert max(covers(two.box, heads, bodies)[1], 0) > BODY_CLEAR          # nothing is clear here...
    assert two.box.h == 184 and not two.extra.get("shrunk")               # ...so the template's height
    assert covers(two.box, heads, bodies)[0] == 0.0
    full = free_place(gray, region, (950, 184), heads, None, "title")   # no bodies known: template size
    assert (full.box.w, full.box.h) == (950, 184)


def test_a_title_narrows_beside_a_small_subject_when_nobody_is_in_the_frame():
    """A rocket in the middle of a landscape poster: a title half the poster wide covers it wherever it
    goes, a narrower one beside it does not. A subject filling the picture (a cat's face) keeps the
    template's size: no smaller title would clear it, it would only be harder to read."""
    from autoposter.cropping import inside_share
    from autoposter.layout import SUBJECT_CLEAR, free_place
    gray = np.full((1080, 1920), 128, np.uint8)
    region = Box(58, 173, 1805, 864)
    rocket = Box(900, 150, 130, 900)
    pl = free_place(gray, region, (960, 216), [], rocket, "title")
    assert inside_share(rocket, pl.box) <= SUBJECT_CLEAR and pl.box.w < 960
    big = Box(100, 60, 1700, 1000)
    full = free_place(gray, region, (960, 216), [], big, "title")
    assert (full.box.w, full.box.h) == (960, 216)
    assert free_place(gray, region, (960, 216), [], None, "title").box.w == 960


def test_a_title_keeps_off_the_top_of_a_large_faceless_subject():
    """Nobody in the frame and a subject too large to step around (a graffiti figure, a robot, a cartoon
    animal): its top band, where its head is, is kept clear as a person's head is; without that the title
    went to the region's top, over the head, since every spot covers as much of the subject."""
    from autoposter.layout import covers, free_place, subject_top
    gray = np.full((1080, 1920), 128, np.uint8)
    region = Box(58, 173, 1805, 864)
    figure = Box(300, 150, 1000, 930)                          # to the poster's foot
    pl = free_place(gray, region, (960, 216), [], figure, "title")
    assert covers(pl.box, [subject_top(figure)], [])[0] == 0.0
    assert (pl.box.w, pl.box.h) == (960, 216)                  # room below the head: the template's size


def test_a_title_keeps_clear_of_the_hair_past_a_detected_head():
    """A detector's head box ends at the hairline or the ear: a title keeps ``HEAD_ROOM`` of the head's
    size clear around it, so big hair, ears or a drawn character's head are not under it."""
    from autoposter.layout import HEAD_ROOM, free_place
    gray = np.full((1000, 600), 128, np.uint8)
    head = Box(200, 270, 200, 200)                                         # 270 px above it, 530 below
    region = Box(0, 0, 600, 1000)
    pl = free_place(gray, region, (600, 250), [head], None, "title")      # above it, 20 px off; or below
    gap = head.y - pl.box.y2 if pl.box.y2 <= head.y else pl.box.y - head.y2
    assert HEAD_ROOM >= 0.1 and gap >= 0.1 * head.h, (pl.box, gap)     # not 20 px above it
    tight = free_place(gray, Box(0, 0, 600, 560), (600, 250), [head], None, "title")   # no room: no clearance
    assert tight.box.intersection(head) is None                            # ...but still off the head itself


def test_a_close_up_whose_room_leaves_no_spot_gets_a_title_off_the_head_itself():
    """A close-up (Megamind's lead filling a 1:1 fit): with ``HEAD_ROOM`` about her head no title size is
    clear anywhere in the region, and the least-covering choice sat on her hair (6 % of the head). The
    ladder is then climbed against the head itself: the smallest title fits under her chin, touching the
    head's room but not the head."""
    import numpy as np

    from autoposter.layout import covers, free_place

    gray = np.full((1080, 1080), 90, np.uint8)
    region = Box(54, 194, 972, 670)
    head = Box(267, 23, 556, 734)
    body = Box(96, 9, 882, 981)
    pl = free_place(gray, region, (972, 151), [head], None, bodies=[body])
    assert covers(pl.box, [head], [])[0] == 0.0 and pl.box.y >= head.y2
    assert pl.box.h < 151                                   # it had to shrink to fit under the chin
