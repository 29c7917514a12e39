"""The dashboard's cycle-collector pause (tasks/evidence/gc_pause.py): collection resumes once, when the
outermost pause ends, and never turns on a collector the caller had turned off."""

from __future__ import annotations

import gc
import threading

import pytest

from tasks.evidence.gc_pause import paused_gc


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_nested_pauses_resume_collection_once_at_the_outermost_end(collector_on):
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner end does not resume it
    assert gc.isenabled()


def test_a_pause_ended_by_an_error_still_resumes_collection(collector_on):
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("read failed")
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off(collector_on):
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_in_threads_resume_when_the_last_ends(collector_on):
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with paused_gc():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with paused_gc():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the thread's pause is still open
    release.set()
    thread.join(5)
    assert gc.isenabled()
