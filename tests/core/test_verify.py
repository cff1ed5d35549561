"""Copy verification on real photos: edits of one capture verify, other shots of a scene do not."""

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from photo_edits import noisy, sharpened, stickered, vignetted, watermarked

from mgdesk.core.grouping import GroupingConfig
from mgdesk.core.verify import (BLOCKY, VERIFIER_VERSION, LocalFeatures, PairVerifier, Verdict, VerifyParams,
                                pixel_map)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DEV = DATA / "nd-dev" / "images"
SCENES = DATA / "nd-scenes" / "images"


@pytest.fixture(scope="module")
def verifier() -> PairVerifier:
    return PairVerifier()


@pytest.mark.parametrize("copy", [
    "g0001_color.jpg", "g0001_resize_small.jpg", "g0001_small_rotate.jpg", "g0001_crop_offset.jpg",
    "g0002_rot90.jpg", "g0005_screenshot.jpg", "g0007_crop_offset.jpg",
])
def test_an_edited_copy_verifies_as_a_copy(verifier, copy):
    orig = DEV / (copy.split("_")[0] + "_orig.jpg")
    v = verifier.verify(orig, DEV / copy)
    assert isinstance(v, Verdict)
    assert v.is_copy, v.reason
    assert v.inliers >= verifier.params.min_inliers and 0 < v.score <= 1


@pytest.mark.parametrize("a, b", [
    ("flow_DogDance__frame10.jpg", "flow_DogDance__frame11.jpg"),  # consecutive video frames
    ("stereo_kitti15_000046__image_2_000046_10.jpg", "stereo_kitti15_000046__image_3_000046_10.jpg"),
    ("hdr_exposures__img01.jpg", "hdr_exposures__img05.jpg"),  # exposure bracket
    ("video_ytvos_1007__00000693.jpg", "video_ytvos_1007__00000702.jpg"),
    ("ukbench_0000__ukbench00000.jpg", "ukbench_0000__ukbench00001.jpg"),  # another viewpoint
    ("pano_vfx_csie__IMG_8709.jpg", "pano_vfx_csie__IMG_8711.jpg"),  # overlapping panorama shots
    ("video_cutie_judo__00000.jpg", "video_cutie_judo__00003.jpg"),  # tripod video, people move
    ("affine_boat__img2.jpg", "affine_boat__img3.jpg"),  # zoomed and turned camera
])
def test_another_shot_of_the_same_scene_is_not_a_copy(verifier, a, b):
    v = verifier.verify(SCENES / a, SCENES / b)
    assert not v.is_copy, v.reason
    assert v.inliers >= verifier.params.min_inliers  # they do match geometrically: the
    # photometric evidence is what rejects them


def _reencoded(photo: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def test_a_copy_with_added_noise_is_still_a_copy(verifier):
    # film grain drowns the faint detail of flat areas; the tiles that count are those whose
    # detail stands above the grain the two do not share
    photo = ImageOps.exif_transpose(Image.open(DATA / "formats" / "camera" / "jpg" / "gps" / "DSCN0027.jpg")).convert("RGB")
    rng = np.random.default_rng(7)
    grain = np.asarray(photo, np.float32) + rng.normal(0, 10, (photo.height, photo.width, 1))
    grainy = _reencoded(Image.fromarray(np.clip(grain, 0, 255).astype(np.uint8)), 90)
    v = verifier.verify(photo, grainy)
    assert v.is_copy, v.reason


def test_a_quality_10_jpeg_copy_is_compared_at_the_detail_it_still_carries(verifier, monkeypatch):
    # at quality 10 the fine detail is 8 px blocks: tile by tile they disagree with the photo
    # and the keypoints jitter, but at the detail both still carry the two agree
    import mgdesk.core.verify as verify

    photo = ImageOps.exif_transpose(Image.open(DATA / "formats" / "camera" / "jpg" / "exif-org" / "kodak-dc240.jpg")).convert("RGB")
    ruined = _reencoded(photo, 10)
    assert verifier.features(ruined).blockiness >= verify.BLOCKY > verifier.features(photo).blockiness
    v = verifier.verify(photo, ruined)
    assert v.is_copy, v.reason
    monkeypatch.setattr(verify, "BLOCKY", float("inf"))  # compared block by block instead
    monkeypatch.setattr(verify, "HEAVY_JPEG_QUALITY", 0)
    assert not verifier.verify(photo, ruined).is_copy


def test_a_quality_10_copy_resized_since_is_known_by_its_file_not_its_blocks(verifier, tmp_path, monkeypatch):
    # made larger than the working side and saved at quality 10, its blocks are averaged off
    # the 8 px grid when it is read at the working side, but its quantisation tables still say
    # how much detail it lost
    import mgdesk.core.verify as verify

    photo = ImageOps.exif_transpose(Image.open(DATA / "formats" / "camera" / "jpg" / "exif-org" / "kodak-dc240.jpg")).convert("RGB")
    ruined = tmp_path / "ruined.jpg"
    photo.resize((round(photo.width * 1.06), round(photo.height * 1.06)), Image.Resampling.LANCZOS).save(ruined, quality=10)
    features = verifier.features(ruined)
    assert features.blockiness < BLOCKY and features.jpeg_quality <= verify.HEAVY_JPEG_QUALITY
    assert verifier.verify(photo, ruined).is_copy
    monkeypatch.setattr(verify, "HEAVY_JPEG_QUALITY", 0)
    assert not verifier.verify(photo, ruined).is_copy


def test_another_shot_stays_another_shot_when_heavily_compressed(verifier, monkeypatch):
    # two frames a moment apart, one saved at quality 10: compared coarsely, the small motion
    # between them must still show (blurred one step more, sigma 3, it no longer does)
    import mgdesk.core.verify as verify

    first = ImageOps.exif_transpose(Image.open(SCENES / "flow_RubberWhale__frame07.jpg")).convert("RGB")
    first.thumbnail((640, 640))
    ruined = _reencoded(first, 10)
    second = SCENES / "flow_RubberWhale__frame08.jpg"
    assert verifier.features(ruined).blockiness >= BLOCKY  # compared at the coarse detail
    v = verifier.verify(ruined, second)
    assert not v.is_copy, v.reason
    monkeypatch.setattr(verify, "COARSE_SIGMA", 3.0)
    assert verifier.verify(ruined, second).is_copy


def test_two_exposures_that_disagree_do_so_where_one_is_clipped(verifier):
    # so grouping never takes them for two edits of a common copy (Verdict.edits_apart)
    v = verifier.verify(SCENES / "hdr_vfx_shop__img07.jpg", SCENES / "hdr_vfx_shop__img10.jpg")
    assert not v.is_copy and not v.edits_apart and not v.undecided, v.reason


def test_a_contrast_stretch_clips_one_image_at_both_ends_which_no_exposure_does(verifier, tmp_path):
    # an "auto enhance" against a captioned copy saved at quality 35: they disagree mostly where
    # the enhanced one clipped, at black and at white alike. Two exposures clip on opposite sides
    # (the test above); one image clipped at both ends is an edit, so the caption is set aside
    # as content laid over the other and the rest agrees
    photo = ImageOps.exif_transpose(Image.open(DATA / "formats" / "camera" / "jpg" / "exif-org" / "nikon-e950.jpg"))
    photo = photo.convert("RGB")
    enhanced = ImageEnhance.Sharpness(ImageEnhance.Contrast(photo).enhance(1.4)).enhance(2.0)
    captioned = photo.copy()
    ImageDraw.Draw(captioned).text((photo.width // 10, photo.height * 3 // 4), "Summer 2019!", fill="white",
                                   font=ImageFont.load_default(size=photo.height // 12),
                                   stroke_width=2, stroke_fill="black")
    enhanced.save(tmp_path / "enhanced.jpg", quality=90)  # read back from files, as a scan does
    captioned.save(tmp_path / "captioned.jpg", quality=35)
    for pair in ((tmp_path / "captioned.jpg", tmp_path / "enhanced.jpg"),
                 (tmp_path / "enhanced.jpg", tmp_path / "captioned.jpg")):
        v = verifier.verify(*pair)
        assert v.is_copy, v.reason


def _frame(background: Image.Image, subject: Image.Image, x: int) -> Image.Image:
    frame = background.copy()
    frame.paste(subject, (x, background.height // 3))
    return frame


def test_a_subject_that_moved_between_two_frames_makes_them_two_captures(verifier):
    background = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    subject = ImageOps.exif_transpose(Image.open(DEV / "g0010_orig.jpg")).convert("RGB")
    subject = subject.resize((background.width // 5, background.width // 5))
    first = _frame(background, subject, background.width // 4)
    second = _frame(background, subject, background.width // 4 + subject.width // 2)
    v = verifier.verify(first, second)
    assert not v.is_copy and "does not line up" in v.reason
    # the rest of the evidence says copy: the moved detail is what tells them apart
    lenient = PairVerifier(VerifyParams(max_moved_detail=1.0))
    assert lenient.verify(first, second).is_copy


@pytest.mark.parametrize("first, second", [("hdr_exposures__img01.jpg", "hdr_exposures__img07.jpg"),
                                           ("hdr_exposures__img01.jpg", "hdr_exposures__img08.jpg")])
def test_brackets_agree_away_from_their_matches_and_photos_in_one_frame_do_not(verifier, first, second):
    """What grouping reads to tell an app frame shared by two screenshots from a shared scene
    (Verdict.gap, canvas_shift, agree_apart): both are in place and may match in a few places
    only (the brackets' dark frames have texture in 7 of 36 cells), but the brackets agree
    where they do not match and the screenshots' photos do not."""
    cfg = GroupingConfig()
    bracket = verifier.verify(SCENES / first, SCENES / second)
    assert not bracket.is_copy and bracket.canvas_shift <= cfg.similar_overlay_shift
    assert bracket.agree_apart >= cfg.similar_overlay_agree + 0.05, bracket
    frame = verifier.verify(DEV / "g0005_screenshot.jpg", DEV / "g0009_screenshot.jpg")
    assert frame.inliers >= 8 and not frame.is_copy
    assert frame.canvas_shift <= cfg.similar_overlay_shift and frame.gap >= cfg.similar_overlay_gap
    assert frame.agree_apart < cfg.similar_overlay_agree - 0.05, frame


def test_a_caption_covers_detail_on_one_side_only_and_stays_a_copy(verifier):
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    captioned = photo.copy()
    draw = ImageDraw.Draw(captioned)
    font = ImageFont.load_default(size=photo.height // 12)
    draw.text((photo.width // 10, photo.height * 3 // 4), "Summer 2019, with Ana", fill="white",
              font=font, stroke_width=2, stroke_fill="black")
    v = verifier.verify(photo, captioned)
    assert v.is_copy, v.reason


def test_stickers_cover_detail_without_making_two_captures(verifier):
    # detail is lost under the stickers and gained along their outlines: both ways, as between
    # two exposures, but a flat mid-tone patch is paint, not a clipped highlight or shadow
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0001_orig.jpg")).convert("RGB")
    r = min(photo.size) // 10
    centres = ((2 * r, 2 * r), (photo.width // 2, photo.height // 2),
               (photo.width - 2 * r, photo.height - 2 * r))
    v = verifier.verify(photo, stickered(photo, centres, r))
    assert v.is_copy, v.reason


def test_big_stickers_flatten_the_photo_under_them_and_stay_a_copy(verifier):
    # inside a sticker the copy is flat where the photo had detail, along its outline it is the
    # richer: both ways, but the flat side is paint laid over the copy, not another shot
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0002_orig.jpg")).convert("RGB")
    r = min(photo.size) // 6
    rng = np.random.default_rng(3)
    centres = [(rng.integers(r, photo.width - r), rng.integers(r, photo.height - r)) for _ in range(3)]
    v = verifier.verify(photo, stickered(photo, centres, r))
    assert v.is_copy and "laid over" in v.reason, v.reason


def _bench_like_stickers(photo: Image.Image) -> Image.Image:
    """Three stickers a tenth of the photo's short side, placed as bench/unseen_edits.py does."""
    r = min(photo.size) // 10
    rng = np.random.default_rng(3)
    return stickered(photo, [(int(rng.integers(r, photo.width - r)), int(rng.integers(r, photo.height - r)))
                             for _ in range(3)], r)


@pytest.mark.parametrize("photo_file", [DEV / "g0016_orig.jpg",
                                        DATA / "formats" / "camera" / "jpg" / "gps" / "DSCN0012.jpg"])
def test_stickers_that_are_most_of_the_flat_tiles_do_not_raise_the_grain_floor(verifier, photo_file):
    # a photo textured nearly everywhere: the stickers' insides are most of its flat tiles, and
    # their difference (the photo's texture under the paint) is not grain an edit added; taken
    # for grain, it would leave too few tiles textured enough to compare, or count the
    # stickers' edges as detail that moved
    photo = ImageOps.exif_transpose(Image.open(photo_file)).convert("RGB")
    v = verifier.verify(photo, _bench_like_stickers(photo))
    assert v.is_copy, v.reason


@pytest.mark.parametrize("photo", ["urban100_img_059.jpg", "urban100_img_062.jpg"])
def test_an_auto_enhance_that_clips_and_sharpens_is_still_a_copy(verifier, photo):
    # contrast clips the copy's extremes (detail the original has) and sharpening strengthens
    # its mid-tones (detail the original "lacks"): lost one way in each tone zone, one edit
    original = Image.open(DATA / "photos" / photo).convert("RGB")
    enhanced = ImageEnhance.Sharpness(ImageEnhance.Contrast(original).enhance(1.4)).enhance(2.0)
    v = verifier.verify(original, _reencoded(enhanced, 90))
    assert v.is_copy, v.reason


def _focused(photo: Image.Image, near: bool) -> Image.Image:
    """The photo as a shot focused near (its bottom sharp) or far (its top sharp), the rest soft."""
    sharp = np.asarray(photo, np.float32)
    soft = np.asarray(photo.filter(ImageFilter.GaussianBlur(1.5)), np.float32)
    depth = np.clip((np.linspace(0, 1, photo.height)[:, None, None] - 0.35) / 0.3, 0, 1)
    out_of_focus = 1 - depth if near else depth
    return _reencoded(Image.fromarray((sharp * (1 - out_of_focus) + soft * out_of_focus).astype(np.uint8)), 90)


@pytest.mark.parametrize("photo", ["g0001_orig.jpg", "g0020_orig.jpg"])
def test_two_shots_focused_at_different_depths_are_not_copies(verifier, photo):
    # each is sharp where the other is soft, in the mid-tones: detail lost both ways in one zone
    im = Image.open(DEV / photo).convert("RGB")
    v = verifier.verify(_focused(im, near=True), _focused(im, near=False))
    assert not v.is_copy and v.against == "lost", v.reason


@pytest.mark.parametrize("floor, subject, shift", [("g0001", "g0010", 120), ("g0006", "g0003", 30)])
def test_a_subject_that_moved_over_a_flat_backdrop_is_not_taken_for_paint(verifier, floor, subject, shift):
    # where the subject was, the second frame shows flat backdrop, as under a sticker; but the
    # first frame is just as flat where the subject went: flat on both sides is two captures.
    # Moved by a fifth of its width, what tells them apart is the mid-tone detail each frame
    # lacks along the subject's edges (texture_loss), so mid-tone loss must keep counting
    ground = ImageOps.exif_transpose(Image.open(DEV / f"{floor}_orig.jpg")).convert("RGB").resize((640, 427))
    thing = ImageOps.exif_transpose(Image.open(DEV / f"{subject}_orig.jpg")).convert("RGB").resize((150, 100))
    backdrop = Image.new("RGB", ground.size, (128, 128, 128))
    backdrop.paste(ground.crop((0, 235, 640, 427)), (0, 235))  # a textured floor that stays put
    frames = []
    for x in (120, 120 + shift):
        frame = backdrop.copy()
        frame.paste(thing, (x, 60))
        frames.append(frame)
    v = verifier.verify(*frames)
    assert not v.is_copy, v.reason


def test_a_watermark_tiled_over_the_photo_is_laid_over_one_side_and_stays_a_copy(verifier):
    # the text disagrees with the photo in a fifth of the tiles, but only ever by adding detail
    # to the watermarked copy: that is content laid over it, not another shot
    photo = ImageOps.exif_transpose(Image.open(DATA / "formats" / "camera" / "jpg" / "gps" / "DSCN0027.jpg")).convert("RGB")
    marked = _reencoded(watermarked(photo), 90)
    v = verifier.verify(photo, marked)
    assert v.is_copy and "laid over" in v.reason, v.reason
    # without setting the overlay aside, the same pair reads as two shots
    strict = PairVerifier(VerifyParams(min_added_side=1.01))
    assert not strict.verify(photo, marked).is_copy


def _explained_by(verifier, z: Image.Image, x: Image.Image, y: Image.Image) -> bool:
    """edits_explain through the transforms z's own verdicts with x and y fitted."""
    fz, fx, fy = (verifier.features(im) for im in (z, x, y))
    vx, vy = verifier.verify(fz, fx), verifier.verify(fz, fy)
    assert vx.is_copy and vy.is_copy, (vx.reason, vy.reason)
    return verifier.edits_explain(fz, fx, fy, pixel_map(vx, fz, fx), pixel_map(vy, fz, fy))


def test_two_edits_that_changed_the_same_places_differently_are_explained_by_their_photo(verifier):
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0006_orig.jpg")).convert("RGB")
    marked, sharp, grainy = watermarked(photo), sharpened(photo), noisy(photo)
    # against each other, the watermark's letters and the sharpened edges read as detail that
    # moved, and the watermark and the grain as detail each lacks...
    pair = verifier.verify(marked, sharp)
    assert not pair.is_copy and pair.against == "moved", pair.reason
    pair = verifier.verify(marked, grainy)
    assert not pair.is_copy and pair.against == "lost", pair.reason
    # ...seen from the photo, each difference is one of them edited there
    assert _explained_by(verifier, photo, marked, sharp)
    assert _explained_by(verifier, photo, marked, grainy)


def test_sharpening_halos_are_no_other_light(verifier, monkeypatch):
    # an unsharp mask overshoots on both sides of every edge but keeps the local mean: tones
    # compared at TONE_SIGMA follow one curve per region, even against a vignetted copy
    import mgdesk.core.verify as verify

    photo = ImageOps.exif_transpose(Image.open(DATA / "formats" / "camera" / "jpg" / "gps" / "DSCN0010.jpg")).convert("RGB")
    sharp = _reencoded(sharpened(photo), 90)
    assert verifier.verify(photo, sharp).is_copy
    g0004 = ImageOps.exif_transpose(Image.open(DEV / "g0004_orig.jpg")).convert("RGB")
    assert verifier.verify(vignetted(g0004), sharpened(g0004)).is_copy
    monkeypatch.setattr(verify, "TONE_SIGMA", 1.01)  # pixel by pixel, the halos are off any curve
    assert verifier.verify(photo, sharp).against == "tones"


def test_a_frame_between_two_others_does_not_explain_a_subject_that_moved(verifier):
    background = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    subject = ImageOps.exif_transpose(Image.open(DEV / "g0010_orig.jpg")).convert("RGB")
    subject = subject.resize((background.width // 5, background.width // 5))
    x0, step = background.width // 4, subject.width // 4
    first, middle, last = (_frame(background, subject, x0 + i * step) for i in range(3))
    pair = verifier.verify(first, last)
    assert not pair.is_copy and pair.against == "moved", pair.reason
    f = [verifier.features(im) for im in (middle, first, last)]
    assert not verifier.edits_explain(*f, np.eye(3), np.eye(3))  # the frames are aligned as made


@pytest.mark.parametrize("photo, against, lenient", [
    ("g0002_orig.jpg", "lost", VerifyParams(max_texture_loss=1.0)),
    ("g0006_orig.jpg", "tones", VerifyParams(max_tone_outliers=1.0)),
])
def test_a_middle_exposure_does_not_explain_a_brighter_and_a_darker_one(verifier, photo, against, lenient):
    # each of them is what a brightness edit of the middle one looks like; against each other
    # each lost to clipping detail the middle one has, and no curve maps the tones it flattened:
    # two exposures of a bracket
    middle = ImageOps.exif_transpose(Image.open(DEV / photo)).convert("RGB")
    tones = np.asarray(middle, np.float32)
    bright = Image.fromarray(np.clip(tones * 1.9, 0, 255).astype(np.uint8))
    dark = Image.fromarray(np.clip(tones * 0.5 - 30, 0, 255).astype(np.uint8))
    pair = verifier.verify(bright, dark)
    assert not pair.is_copy and pair.against == against, pair.reason
    assert not _explained_by(verifier, middle, bright, dark)
    # what was clipped or flattened on both sides is what keeps them apart
    assert _explained_by(PairVerifier(lenient), middle, bright, dark)


def test_a_verdict_maps_pixels_of_one_image_onto_the_other_mirrored_or_not(verifier):
    im = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    half = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
    fa = verifier.features(im)
    for other, expect in ((half, lambda x, y: (x / 2, y / 2)),
                          (ImageOps.mirror(half), lambda x, y: (half.width - 1 - x / 2, y / 2))):
        fb = verifier.features(other)
        v = verifier.verify(fa, fb)
        assert v.is_copy, v.reason
        m = pixel_map(v, fa, fb)
        for x, y in ((40.0, 30.0), (300.0, 200.0)):
            got = m @ [x, y, 1.0]
            assert np.allclose(got[:2] / got[2], expect(x, y), atol=1.5)


def test_a_verdict_tells_a_frame_around_the_photo_from_the_rest_of_a_photo(verifier):
    original = DEV / "g0004_orig.jpg"
    framed = verifier.verify(original, DEV / "g0004_border.jpg")
    assert framed.is_copy and framed.photo_a == 1.0 and 0.4 < framed.photo_b < 0.9
    screen = verifier.verify(DEV / "g0005_screenshot.jpg", DEV / "g0005_orig.jpg")
    assert screen.is_copy and 0.3 < screen.photo_a < 0.8 and screen.photo_b == 1.0
    # the original of a crop holds more of the photo, not a frame
    crop = verifier.verify(DEV / "g0005_orig.jpg", DEV / "g0005_crop_offset.jpg")
    assert crop.is_copy and crop.photo_a == crop.photo_b == 1.0


def test_a_border_a_few_working_pixels_wide_is_a_frame_too(verifier, tmp_path):
    """A 30 px border on a large photo is 5 px at the working side: it must still count as a
    frame, or the bordered copy, with more pixels, is kept over the photo it frames."""
    im = ImageOps.exif_transpose(Image.open(DEV / "g0004_orig.jpg")).convert("RGB")
    big = im.resize((im.width * 6, im.height * 6), Image.Resampling.LANCZOS)
    big.save(tmp_path / "big.jpg", quality=92)
    ImageOps.expand(big, 30, "white").rotate(270, expand=True).save(tmp_path / "framed.jpg", quality=90)
    v = verifier.verify(tmp_path / "big.jpg", tmp_path / "framed.jpg")
    inner = big.width * big.height / ((big.width + 60) * (big.height + 60))
    assert v.is_copy and v.photo_a == 1.0 and abs(v.photo_b - inner) < 0.01, (v.photo_a, v.photo_b)


def test_a_mirrored_copy_verifies_and_says_mirrored(verifier, tmp_path):
    im = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    path = tmp_path / "mirror.jpg"
    ImageOps.mirror(im).save(path, quality=85)
    v = verifier.verify(DEV / "g0003_orig.jpg", path)
    assert v.is_copy, v.reason
    assert v.transform.startswith("mirrored") and v.turned


def test_a_rotated_copy_reports_the_rotation(verifier, tmp_path):
    im = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    path = tmp_path / "r.png"
    im.rotate(270, expand=True).save(path)
    v = verifier.verify(im, path)
    assert v.is_copy, v.reason
    assert "rotation +90°" in v.transform or "rotation -90°" in v.transform or "270" in v.transform
    assert v.turned


def _local_contrast(photo: Image.Image) -> Image.Image:
    import cv2

    lab = cv2.cvtColor(np.asarray(photo), cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return Image.fromarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB))


@pytest.mark.parametrize("edit", [vignetted, _local_contrast])
def test_a_local_tone_edit_is_still_a_copy(verifier, edit):
    # a vignette or an "auto enhance" changes tones region by region: no one curve fits the
    # whole photo, one per region does
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0001_orig.jpg")).convert("RGB")
    v = verifier.verify(photo, edit(photo))
    assert v.is_copy, v.reason


def test_a_keystone_corrected_copy_verifies_against_a_thumbnail_in_either_order(verifier):
    # few matches: the homography cannot win on inlier count, yet only it fits them tightly
    import cv2

    photo = ImageOps.exif_transpose(Image.open(DATA / "formats" / "camera" / "jpg" / "gps" / "DSCN0010.jpg")).convert("RGB")
    w, h = photo.size
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]),
                                    np.float32([[w * 0.08, 0], [w * 0.92, 0], [w, h], [0, h]]))
    keystoned = _reencoded(Image.fromarray(cv2.warpPerspective(np.asarray(photo), M, (w, h),
                                                               borderMode=cv2.BORDER_REPLICATE)), 90)
    thumb = photo.copy()
    thumb.thumbnail((160, 160), Image.Resampling.LANCZOS)
    thumb = _reencoded(thumb, 90)
    for a, b in ((keystoned, thumb), (thumb, keystoned)):
        v = verifier.verify(a, b)
        assert v.is_copy and v.transform.startswith("perspective"), v.reason


def _lens_bent(photo: Image.Image, k: float) -> Image.Image:
    """A lens-profile correction's geometry: radial about the centre, the corners kept."""
    import cv2

    w, h = photo.size
    cx, cy, rn = (w - 1) / 2, (h - 1) / 2, np.hypot(w / 2, h / 2)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = (x - cx) / rn, (y - cy) / rn
    f = (1 + k * (dx * dx + dy * dy)) / (1 + k)
    mx, my = (cx + dx * f * rn).astype(np.float32), (cy + dy * f * rn).astype(np.float32)
    return Image.fromarray(cv2.remap(np.asarray(photo), mx, my, cv2.INTER_CUBIC,
                                     borderMode=cv2.BORDER_REFLECT))


@pytest.mark.parametrize("k", [0.08, -0.06])
def test_a_lens_corrected_copy_is_one_capture_bent_about_its_centre(verifier, k):
    # no single transform maps a lens-profile correction onto the photo: its points sat a
    # pixel or two apart after alignment, and it was refused as parallax
    photo = ImageOps.exif_transpose(Image.open(DATA / "formats" / "camera" / "jpg" / "gps" / "DSCN0021.jpg")).convert("RGB")
    v = verifier.verify(photo, _reencoded(_lens_bent(photo, k), 90))
    assert v.is_copy and "lens distortion" in v.reason, v.reason


def test_a_verdict_measures_how_far_an_edit_moved_the_tones(verifier):
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    recompressed = verifier.verify(photo, _reencoded(photo, quality=30))
    brighter = verifier.verify(photo, ImageEnhance.Brightness(photo).enhance(1.3))
    assert recompressed.is_copy and brighter.is_copy
    assert recompressed.tone_shift < 2.0 < 8.0 < brighter.tone_shift
    assert not recompressed.turned and not brighter.turned  # upright, like the original


def test_two_different_photos_are_not_copies(verifier):
    v = verifier.verify(DEV / "g0001_orig.jpg", DEV / "g0002_orig.jpg")
    assert not v.is_copy and v.reason


def test_a_homography_through_a_handful_of_chance_matches_is_no_evidence_of_one_scene(verifier):
    # a street and a tower: a homography passes through any four of their 32 tentative
    # matches, and once counted six "inliers" that backed the two as one scene
    v = verifier.verify(SCENES / "evd_vin__2_vin.jpg", SCENES / "pano_vfx_ntulib__IMG_8722.jpg")
    assert not v.is_copy
    assert v.inliers < GroupingConfig().similar_min_inliers


def test_features_are_reusable_and_match_the_path_result(verifier):
    fa = verifier.features(DEV / "g0001_orig.jpg")
    assert isinstance(fa, LocalFeatures) and len(fa.points) > 50
    assert fa.descriptors.shape == (len(fa.points), 128)
    np.testing.assert_allclose(np.linalg.norm(fa.descriptors, axis=1), 1.0, atol=1e-3)
    assert verifier.verify(fa, DEV / "g0001_color.jpg").is_copy


def test_a_flat_image_is_not_a_copy_of_anything_and_does_not_crash(verifier):
    flat = Image.new("RGB", (300, 200), (120, 130, 140))
    v = verifier.verify(flat, flat.copy())
    assert not v.is_copy and "feature" in v.reason


def test_the_verifier_version_is_a_non_empty_string():
    assert isinstance(VERIFIER_VERSION, str) and VERIFIER_VERSION


def test_features_survive_a_round_trip_through_bytes_with_the_same_verdict(verifier):
    fa = verifier.features(DEV / "g0001_orig.jpg")
    fb = verifier.features(DEV / "g0001_resize_small.jpg")
    back = LocalFeatures.from_bytes(fa.to_bytes())
    assert (back.width, back.height, back.jpeg_quality) == (fa.width, fa.height, fa.jpeg_quality)
    assert fa.jpeg_quality == 90
    np.testing.assert_array_equal(back.points, fa.points)
    np.testing.assert_array_equal(back.raw, fa.raw)
    np.testing.assert_array_equal(back.gray, fa.gray)
    fresh, restored = verifier.evidence(fa, fb), verifier.evidence(back, fb)
    assert verifier.decide(restored).is_copy == verifier.decide(fresh).is_copy
    assert restored.tiles == fresh.tiles


def test_bytes_that_are_not_serialised_features_are_refused(verifier):
    data = verifier.features(DEV / "g0001_orig.jpg").to_bytes()
    for bad in (b"", b"JPEG" + data[4:], data[:-10]):
        with pytest.raises(ValueError):
            LocalFeatures.from_bytes(bad)


def test_features_can_be_pickled_for_another_process(verifier):
    import pickle
    fa = verifier.features(DEV / "g0002_orig.jpg")
    back = pickle.loads(pickle.dumps(fa))
    np.testing.assert_array_equal(back.raw, fa.raw)


def test_points_that_disagree_by_up_to_twice_the_limit_leave_the_pair_to_a_common_copy(verifier):
    # two edits, each aligned with their photo within the limit, can add up to twice it against
    # each other; beyond that it is parallax, which no common copy can explain
    limit = verifier.params.max_match_error
    evidence = verifier.evidence(DEV / "g0001_orig.jpg", DEV / "g0001_resize_small.jpg")
    near, far = (verifier.decide(replace(evidence, match_error=m * limit)) for m in (1.5, 2.5))
    assert not near.is_copy and near.against == "geometry"
    assert not far.is_copy and far.against == "" and not (far.undecided or far.edits_apart)
