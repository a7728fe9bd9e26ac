"""The terminal report's wording (emulator/report/terminal.py), pure."""

from __future__ import annotations


def test_the_terminal_says_the_run_s_timings_in_words_not_json_keys():
    """Issue 25, section 4: `timings (s): build_s 1.0, ...` showed the JSON report's keys."""
    from emulator.report.terminal import timings_in_words
    text = timings_in_words({"build_s": 1.04, "ready_s": 1.1, "checks_s": 54.7, "total_s": 56.4})
    assert text == "time: network built 1.0 s, flows ready 1.1 s, checks 54.7 s, in all 56.4 s"
