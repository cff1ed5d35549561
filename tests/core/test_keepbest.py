"""Keep-best: the first rule that separates the members decides, and says why in words."""

import pytest

from mgdesk.core.keepbest import RULES, Edits, KeepRules, MemberInfo, choose_keeper


def member(path="/p/a.jpg", w=1000, h=800, size=100_000, fmt="JPEG", captured=None, exif=0):
    return MemberInfo(path, w, h, size, fmt, captured, exif)


def test_the_largest_resolution_is_kept_by_default():
    members = [member(w=800, h=600, size=900_000), member("/p/b.jpg", w=4032, h=3024)]
    index, reason = choose_keeper(members)
    assert index == 1
    assert reason == "largest resolution: 4032×3024"


def test_a_border_or_screen_around_the_photo_is_not_resolution():
    original = member("/p/photo.jpg", w=480, h=320, size=60_000)
    # 648×464 screenshot showing the photo at 478×318: measured share of its canvas, a bit short
    screenshot = MemberInfo("/p/screen.png", 648, 464, 300_000, "PNG", photo_share=0.505)
    index, reason = choose_keeper([screenshot, original])
    assert index == 1
    assert reason == "largest resolution: 480×320 (a larger copy only adds a frame around the photo)"


def test_a_framed_copy_that_holds_the_photo_larger_still_wins():
    small = member("/p/small.jpg", w=480, h=320)
    framed = MemberInfo("/p/framed.jpg", 1400, 1000, 100_000, "JPEG", photo_share=0.7)  # 1170×837
    assert choose_keeper([small, framed])[0] == 1


def test_two_framed_copies_of_one_size_are_a_tie_for_resolution():
    a = MemberInfo("/p/a.png", 1000, 800, 900_000, "PNG", photo_share=0.641)
    b = MemberInfo("/p/b.png", 1000, 800, 950_000, "PNG", photo_share=0.640)  # measured a bit less
    assert choose_keeper([a, b]) == (1, "largest file: 950.0 KB")


def test_unknown_sizes_leave_the_choice_to_the_next_rule():
    a = MemberInfo("/p/a.jpg", 0, 0, 10, "JPEG", photo_share=0.5)
    b = MemberInfo("/p/b.jpg", 0, 0, 20, "JPEG")
    assert choose_keeper([a, b])[1].startswith("largest file")


def test_at_one_resolution_the_least_edited_copy_is_kept_over_a_bigger_captioned_one():
    original = MemberInfo("/p/photo.jpg", 480, 320, 60_000, "JPEG", edits=Edits(0.03))
    captioned = MemberInfo("/p/caption.jpg", 480, 320, 75_000, "JPEG", edits=Edits(0.09))
    recompressed = MemberInfo("/p/small.jpg", 480, 320, 30_000, "JPEG", edits=Edits(0.04))
    index, reason = choose_keeper([captioned, recompressed, original])
    assert index == 2  # the recompressed copy ties on edits (within 2 %), then the larger file
    assert reason == "least edited: agrees with its copies in 97% of the photo; then largest file: 60.0 KB"


def test_a_copy_turned_or_mirrored_against_the_others_is_not_kept_for_its_bigger_file():
    # original, a mirrored copy (turned against both others) and a recompressed copy
    original = MemberInfo("/p/photo.jpg", 480, 320, 60_000, "JPEG", edits=Edits(0.01, turned=0.5))
    mirrored = MemberInfo("/p/mirror.jpg", 480, 320, 90_000, "JPEG", edits=Edits(0.01, turned=1.0))
    smaller = MemberInfo("/p/small.jpg", 480, 320, 30_000, "JPEG", edits=Edits(0.02, turned=0.5))
    index, reason = choose_keeper([mirrored, smaller, original])
    assert index == 2
    assert reason == ("least edited: not turned or mirrored against its copies; "
                      "then largest file: 60.0 KB")


def test_a_brightened_copy_is_not_kept_over_the_photo_whose_tones_its_copies_share():
    original = MemberInfo("/p/photo.jpg", 480, 320, 60_000, "JPEG", edits=Edits(0.01, tone=7.0))
    brighter = MemberInfo("/p/bright.jpg", 480, 320, 80_000, "JPEG", edits=Edits(0.01, tone=13.0))
    webp = MemberInfo("/p/photo.webp", 480, 320, 40_000, "WEBP", edits=Edits(0.01, tone=7.5))
    index, reason = choose_keeper([brighter, webp, original])
    assert index == 2  # the WebP ties on tones (within 2 grey levels), then the larger file
    assert reason.startswith("least edited: its brightness and contrast match its copies; then largest file")


def test_two_copies_that_differ_alike_leave_the_choice_to_the_next_rule():
    # a pair cannot tell which of the two was edited: each differs from the other alike
    a = MemberInfo("/p/a.jpg", 480, 320, 60_000, "JPEG", edits=Edits(0.05, turned=1.0, tone=12.0))
    b = MemberInfo("/p/b.jpg", 480, 320, 80_000, "JPEG", edits=Edits(0.05, turned=1.0, tone=12.0))
    assert choose_keeper([a, b]) == (1, "largest file: 80.0 KB")


def test_same_resolution_falls_through_to_the_larger_file():
    members = [member(size=50_000), member("/p/b.jpg", size=2_500_000)]
    assert choose_keeper(members) == (1, "largest file: 2.5 MB")


def test_rule_order_is_configurable():
    members = [member(size=10, fmt="JPEG", w=2000), member("/p/b.png", size=5, fmt="PNG", w=1000)]
    assert choose_keeper(members)[0] == 0
    index, reason = choose_keeper(members, KeepRules(order=("format", "resolution")))
    assert index == 1 and reason == "preferred format: PNG"


def test_raw_and_heic_beat_jpeg_and_the_format_can_come_from_the_suffix():
    rules = KeepRules(order=("format",))
    assert choose_keeper([member(fmt="JPEG"), member("/p/x.dng", fmt=None)], rules)[0] == 1
    assert choose_keeper([member(fmt="HEIF"), member(fmt="JPEG")], rules) == (0, "preferred format: HEIC")


def test_oldest_capture_wins_and_unknown_dates_never_do():
    rules = KeepRules(order=("oldest",))
    members = [member(captured=None), member(captured="2021-05-01T10:00:00"),
               member(captured="2019-01-02T08:30:00")]
    assert choose_keeper(members, rules) == (2, "oldest capture date: 2019-01-02 08:30:00")


def test_a_preferred_folder_wins_and_earlier_folders_rank_higher():
    rules = KeepRules(order=("folder", "resolution"), preferred_folders=("/lib/best", "/lib/ok"))
    members = [member("/tmp/a.jpg", w=5000), member("/lib/ok/b.jpg"), member("/lib/best/sub/c.jpg")]
    assert choose_keeper(members, rules) == (2, "in preferred folder: /lib/best")
    # no member in a preferred folder: the rule is skipped, not decided arbitrarily
    assert choose_keeper([member("/x/a.jpg", w=10), member("/y/b.jpg", w=20)], rules)[0] == 1


def test_richer_exif_breaks_a_tie_and_the_reason_lists_the_narrowing_rules():
    rules = KeepRules(order=("resolution", "exif"))
    members = [member(w=10), member(exif=3), member(exif=40)]
    assert choose_keeper(members, rules) == (2, "largest resolution: 1000×800; then richer EXIF: 40 fields")


def test_complete_ties_keep_the_first_member_and_say_so():
    index, reason = choose_keeper([member(), member("/p/b.jpg")])
    assert index == 0 and "kept the first" in reason


@pytest.mark.parametrize("copy_name", ["IMG_1 (1).jpg", "IMG_1 copy 2.jpg", "IMG_1 - Copy (2).jpg",
                                       "Copy of IMG_1.jpg", "IMG_1 - Kopie.jpg"])
def test_exact_copies_keep_the_one_not_named_like_a_copy(copy_name):
    members = [member(f"/dl/{copy_name}"), member("/p/IMG_1.jpg")]
    index, reason = choose_keeper(members)
    assert index == 1
    assert reason == f"equal on every keep rule; kept the one not named as a copy ({copy_name} is)"


def test_a_name_is_a_copy_only_next_to_the_name_it_copies():
    from mgdesk.core.keepbest import is_copy_name
    stems = ["IMG_1", "copyright", "Vacation (2019)", "Screenshot (12)", "Screenshot (13)"]
    for name in ("IMG_1 (copy).jpg", "IMG_1 (3rd copy).jpg", "IMG_1 2.jpg", "copy_of_IMG_1.jpg",
                 "IMG_1 (conflicted copy 2024-01-02).jpg", "Kopie von IMG_1.jpg"):
        assert is_copy_name(name, stems + [name.rsplit(".", 1)[0]]), name
    for name in ("copyright.jpg", "Vacation (2019).jpg", "Screenshot (12).png", "IMG_1.jpg"):
        assert not is_copy_name(name, stems), name


def test_a_lossless_re_save_is_not_kept_whatever_the_order_of_the_rules():
    jpeg = member("/p/IMG_1.jpg", size=3_000_000)
    png = MemberInfo("/p/IMG_1.png", 1000, 800, 14_000_000, "PNG", resave_of="/p/IMG_1.jpg")
    for order in (("format", "file_size"), ("file_size",), ()):
        assert choose_keeper([png, jpeg], KeepRules(order=order)) == (
            1, "the photo the others were made from (IMG_1.png only re-saves its pixels losslessly)")


def test_an_enlarged_copy_does_not_win_largest_resolution_over_the_photo_it_was_made_from():
    original = MemberInfo("/p/IMG_1.jpg", 1000, 800, 300_000, "JPEG", exif_fields=40)
    enlarged = MemberInfo("/p/IMG_1 HD.jpg", 2000, 1600, 900_000, "JPEG", enlarged_from="/p/IMG_1.jpg")
    thumb = MemberInfo("/p/t.jpg", 200, 160, 9_000, "JPEG")
    for order in (("resolution",), ("file_size", "resolution"), RULES):
        keep, why = choose_keeper([enlarged, thumb, original], KeepRules(order=order))
        assert keep == 2
        # what decided among the rest comes first; the enlargement was set aside before
        assert why.startswith(("largest resolution: 1000×800", "largest file: 300.0 KB")) and \
            why.endswith("(not weighed: IMG_1 HD.jpg only enlarges IMG_1.jpg (no detail finer than its pixels))")


def test_of_one_photo_at_one_size_the_file_with_the_cameras_capture_date_beats_a_bigger_export():
    camera = MemberInfo("/p/DSC_1.jpg", 4000, 3000, 3_000_000, "JPEG", captured="2024-05-01T10:00:00", exif_fields=40)
    export = MemberInfo("/p/DSC_1 sharpened.jpg", 4000, 3000, 4_500_000, "JPEG")
    assert choose_keeper([export, camera]) == (1, "the only one with a capture date: 2024-05-01 10:00:00")


def test_then_the_file_written_first_is_kept():
    newer = MemberInfo("/b/IMG_1.jpg", 1000, 800, 100_000, modified=1_700_000_100.0)
    older = MemberInfo("/a/IMG_1.jpg", 1000, 800, 100_000, modified=1_700_000_000.0)
    assert choose_keeper([newer, older]) == (1, "equal on every keep rule; kept the file written first")


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown keep-best rule"):
        KeepRules(order=("prettiest",))
    with pytest.raises(ValueError):
        choose_keeper([])


def test_a_lossless_re_save_is_not_kept_for_its_bigger_file_or_its_format():
    jpeg = member("/p/IMG_1.jpg", size=3_000_000, exif=40)
    png = MemberInfo("/p/IMG_1.png", 1000, 800, 14_000_000, "PNG", resave_of="/p/IMG_1.jpg")
    assert choose_keeper([png, jpeg]) == (
        1, "the photo the others were made from (IMG_1.png only re-saves its pixels losslessly)")


def test_a_lossless_re_save_loses_after_the_edits_were_weighed():
    original = MemberInfo("/p/a.jpg", 1000, 800, 300_000, "JPEG", edits=Edits(0.01))
    resaved = MemberInfo("/p/a.png", 1000, 800, 1_400_000, "PNG", edits=Edits(0.01), resave_of="/p/a.jpg")
    captioned = MemberInfo("/p/c.jpg", 1000, 800, 320_000, "JPEG", edits=Edits(0.2))
    index, reason = choose_keeper([captioned, resaved, original])
    assert index == 2
    assert reason == ("least edited: agrees with its copies in 99% of the photo "
                      "(not weighed: a.png only re-saves its pixels losslessly)")


def test_the_sharpest_frame_of_a_burst_wins_before_any_rule():
    from dataclasses import replace
    big_blurred = replace(member("/p/DSC_1.jpg", size=900_000), sharpness=0.02)
    small_sharp = replace(member("/p/DSC_2.jpg", size=300_000), sharpness=0.06)
    keep, why = choose_keeper([big_blurred, small_sharp])
    assert keep == 1 and why == "sharpest frame of the burst"


def test_frames_about_as_sharp_are_left_to_the_rules():
    from dataclasses import replace
    a = replace(member("/p/DSC_1.jpg", size=900_000), sharpness=0.060)
    b = replace(member("/p/DSC_2.jpg", size=300_000), sharpness=0.065)  # within the tolerance
    keep, why = choose_keeper([a, b])
    assert keep == 0 and why.startswith("largest file")


def test_sharpness_is_not_compared_unless_every_member_has_it():
    # a frame and a photo of unknown origin may show different views: no focus comparison
    from dataclasses import replace
    keep, why = choose_keeper([replace(member("/p/a.jpg", size=900_000), sharpness=None),
                               replace(member("/p/b.jpg", size=300_000), sharpness=0.5)])
    assert keep == 0 and "sharpest" not in why
