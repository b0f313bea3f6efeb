"""Key-frame repairs: each quirk gives the documented value and a note."""

from mer_lab.datasets._clips import middle_frame, repair_keyframes

FRAMES = list(range(10, 21))   # frames 10..20 present


def test_sound_cells_pass_unchanged():
    assert repair_keyframes(FRAMES, 11, 14, 18) == (11, 14, 18, False, [])


def test_missing_apex_becomes_middle_frame():
    for cell in ("/", None, "", float("nan")):
        on, ap, off, est, notes = repair_keyframes(FRAMES, 10, cell, 20)
        assert (on, ap, off, est) == (10, 15, 20, True)
        assert "apex not annotated" in notes[0]


def test_offset_before_onset_repaired_to_last_frame():
    on, ap, off, est, notes = repair_keyframes(FRAMES, 12, 14, 9)
    assert (on, ap, off, est) == (12, 14, 20, False)
    assert "before the onset" in notes[0]


def test_offset_beyond_last_frame():
    _, _, off, _, notes = repair_keyframes(FRAMES, 12, 14, 500)
    assert off == 20 and "beyond the last frame" in notes[0]


def test_offset_typo_in_long_video_uses_typical_length():
    _, _, off, _, notes = repair_keyframes(list(range(1, 1000)), 100, 104, 3, typical_length=15)
    assert off == 115 and "onset + 15" in notes[0]


def test_zero_offset_uses_apex():
    on, ap, off, est, notes = repair_keyframes(list(range(1, 100)), 10, 13, 0, zero_offset_is_missing=True)
    assert (on, ap, off) == (10, 13, 13) and "offset 0" in notes[0]


def test_onset_equal_apex_kept_and_noted():
    on, ap, off, est, notes = repair_keyframes(FRAMES, 12, 12, 18)
    assert (on, ap, off, est) == (12, 12, 18, False)
    assert notes == ["onset equals apex (12): kept as annotated"]


def test_apex_outside_clip_is_estimated():
    on, ap, off, est, notes = repair_keyframes(FRAMES, 12, 40, 18)
    assert ap == 15 and est and "outside onset..offset" in notes[0]


def test_onset_outside_frames_present():
    on, _, _, _, notes = repair_keyframes(FRAMES, 3, 14, 18)
    assert on == 10 and "onset 3" in notes[0]


def test_middle_frame_snaps_to_a_present_frame():
    assert middle_frame([10, 11, 12, 17, 18], 10, 18) == 12   # nearest to 14 among those present
    assert middle_frame([1, 2, 3, 4, 5], 1, 5) == 3
