"""The farm client records a finished run and marks it recorded as one step (sweep/farm.py): a Ctrl-C between
the two made its KeyboardInterrupt path record the same run twice (seen as a duplicated block on resume)."""
import os
import signal

import pytest

from cltrace.sweep.farm import _interrupts_after


def test_ctrl_c_inside_is_raised_after_both_steps():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with _interrupts_after():
            steps.append("recorded")
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("marked")
    assert steps == ["recorded", "marked"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_handlers_are_restored_and_an_ignored_signal_stays_ignored():
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with _interrupts_after():
            os.kill(os.getpid(), signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)


def test_no_signal_no_interrupt():
    with _interrupts_after():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
