"""Integration tests build real networks (Mininet, Open vSwitch, os-ken) and need root."""

from tests.root_guard import root_and_nothing_left_behind  # noqa: F401 (an autouse fixture)
