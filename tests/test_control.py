"""The shared run control: one deadline for every stage, one stop flag for Ctrl-C."""

import os
import signal
import time

import pytest

from optsched.control import Deadline, clear_stop, interruptible, request_stop, stop_requested


def test_deadline_expires_on_time_and_shares_never_exceed_it():
    d = Deadline(0.2)
    assert not d.expired()
    half = d.share(0.5)
    assert half.remaining() is not None
    assert half.remaining() <= 0.1 + 1e-6
    assert d.capped(10.0).remaining() <= 0.2 + 1e-6
    time.sleep(0.25)
    assert d.expired()
    assert d.remaining() == 0.0


def test_unlimited_deadline_still_expires_on_a_stop_request():
    clear_stop()
    d = Deadline.unlimited()
    assert d.remaining() is None
    assert not d.expired()
    request_stop()
    try:
        assert d.expired()
        assert stop_requested()
    finally:
        clear_stop()


def _sigint_and_wait() -> None:
    """Send this process a SIGINT and give the handler time to run."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)


def test_first_sigint_sets_the_flag_second_raises():
    with interruptible():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert stop_requested()
        with pytest.raises(KeyboardInterrupt):
            _sigint_and_wait()
    clear_stop()


def test_negative_deadline_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        Deadline(-1)
