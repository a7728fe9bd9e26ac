"""For tests that build real networks (integration, e2e): root is required, and nothing may be left behind.

Never skipped: without root they fail and say how to run them. Imported by
the conftest of each folder that builds networks.
"""

import os

import pytest

from emulator.runtime import cleanup


@pytest.fixture(autouse=True, scope="module")
def root_and_nothing_left_behind():
    if os.geteuid() != 0:
        pytest.fail("these tests build real networks and need root: run `sudo make test` "
                    "(or `make unit` for the unit tests alone)")
    yield
    left = cleanup.leftovers()
    assert left.empty(), f"the tests left resources behind: {left.summary()}"
