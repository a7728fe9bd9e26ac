"""Integration tests build real networks (Mininet, Open vSwitch, os-ken) and need root.

They are never skipped: without root they fail and say how to run them.
"""

import os

import pytest

from emulator.runtime import cleanup


@pytest.fixture(autouse=True, scope="module")
def _root_and_nothing_left_behind():
    if os.geteuid() != 0:
        pytest.fail("integration tests build real networks and need root: run `sudo make test` "
                    "(or `make unit` for the unit tests alone)")
    yield
    left = cleanup.leftovers()
    assert left.empty(), f"the test left resources behind: {left.summary()}"
