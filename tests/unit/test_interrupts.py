"""Ctrl-C held back while the lab changes the model and then the network (issue 25, section 1)."""

import os
import signal

import pytest

from emulator.runtime.interrupts import finished_before_interrupt


def test_a_ctrl_c_inside_waits_for_the_end_and_is_remembered_and_the_next_one_interrupts():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)     # as at the lab's prompt
    try:
        finished = False
        with finished_before_interrupt() as pressed:
            os.kill(os.getpid(), signal.SIGINT)
            finished = True
        assert finished and pressed == [signal.SIGINT]
        with pytest.raises(KeyboardInterrupt):          # the handler is back: Ctrl-C interrupts again
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)


def test_without_a_ctrl_c_nothing_is_said():
    with finished_before_interrupt() as pressed:
        pass
    assert pressed == []


def test_a_second_ctrl_c_stops_waiting(capsys):
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        reached = []
        with pytest.raises(KeyboardInterrupt):
            with finished_before_interrupt() as pressed:
                os.kill(os.getpid(), signal.SIGINT)
                reached.append("after the first")
                os.kill(os.getpid(), signal.SIGINT)
                reached.append("after the second")
        assert reached == ["after the first"] and len(pressed) == 2
        assert "Ctrl-C again to stop waiting" in capsys.readouterr().err
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
