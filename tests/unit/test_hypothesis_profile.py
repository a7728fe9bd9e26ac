"""The property tests are repeatable and leave nothing in the checkout (tests/conftest.py's profile)."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import storage_directory

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_profile_is_derandomized_and_keeps_no_example_database():
    repeatable = settings.get_profile("repeatable")
    assert repeatable.derandomize is True and repeatable.database is None
    assert settings.get_profile("explore").database is None


def test_hypothesis_writes_nothing_under_the_checkout():
    assert ROOT not in storage_directory("constants", intent_to_write=False).path.parents


SEEN: list[int] = []


@settings(settings.get_profile("repeatable"), max_examples=5)
@given(st.integers())
def _draw(value: int) -> None:
    SEEN.append(value)


def test_the_same_examples_come_on_every_run():
    _draw()
    first = list(SEEN)
    SEEN.clear()
    _draw()
    assert SEEN == first and len(first) == 5
