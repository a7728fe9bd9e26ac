"""End-to-end tests run the CLI as a user does; `run` and `lab` build real networks and need root."""

from tests.root_guard import root_and_nothing_left_behind  # noqa: F401 (an autouse fixture)
