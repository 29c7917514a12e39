from datetime import timedelta

import pytest

from tasks.catalog.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(days=7)),
        (" 1.5h ", timedelta(minutes=90)),
    ],
)
def test_parses_the_documented_units(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "bad", ["4", "4 hours", "h", "-1h", "0m", 30, True, None, "4x", "99999999999999w", "5300w", "9" * 400 + "s"]
)
def test_rejects_anything_else_with_the_expected_form(bad):
    with pytest.raises(ValueError, match="expected a|positive"):
        parse_duration(bad)


@pytest.mark.parametrize(
    "seconds, text", [(42, "42s"), (3600, "1h"), (5400, "1h 30m"), (90000, "1d 1h"), (None, "n/a")]
)
def test_formats_compactly(seconds, text):
    assert format_duration(seconds) == text
