"""A failure inside the follower thread ends the run with exit 3 and says why, through teardown (issue 20).

The failure is injected into the real run: the follower's health step raises what a race with a lab change
raised ("dictionary changed size during iteration") once the run is under way.
"""

import time

from emulator import cli, runner
from emulator.runtime import cleanup


def test_an_error_in_the_follower_stops_the_run_with_exit_3_and_its_reason(monkeypatch, capsys):
    real = runner.Live.follow_health
    started = time.monotonic()
    calls = {"n": 0}

    def follow_then_fail(self, prepared):
        calls["n"] += 1
        if calls["n"] > 20:            # about a second into following: the checks are running
            raise RuntimeError("dictionary changed size during iteration")
        return real(self, prepared)

    monkeypatch.setattr(runner.Live, "follow_health", follow_then_fail)
    code = cli.main(["run", "redundant_leased_lines_standby"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ENVIRONMENT, err
    assert "can no longer be carried into the flows" in err and "dictionary changed size" in err, err
    assert calls["n"] == 21                       # it ended the run: not silently, not going on
    assert time.monotonic() - started < 120
    assert cleanup.leftovers().empty(), cleanup.leftovers().summary()
