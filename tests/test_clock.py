from datetime import datetime

from imbachat.clock import format_api, unix


def test_api_dates_are_shown_to_the_second_without_fractions() -> None:
    assert format_api(datetime(2026, 1, 2, 3, 4, 5, 678901)) == "2026-01-02 03:04:05"
    assert format_api(datetime(2026, 11, 25, 23, 59, 59)) == "2026-11-25 23:59:59"


def test_a_missing_date_stays_missing() -> None:
    assert format_api(None) is None


def test_unix_time_reads_naive_dates_as_utc() -> None:
    assert unix(datetime(1970, 1, 2)) == 86_400
