"""flows/_fanout.py: map_bounded with a hold-back, as the restore test starts its first restores alone."""

from __future__ import annotations

import threading
import time

import pytest
from prefect import flow, task

from flows._fanout import Countdown, map_bounded


@pytest.fixture(autouse=True)
def _prefect(prefect_harness):
    yield


def test_items_held_back_are_submitted_once_the_first_have_begun():
    begun: list[tuple[int, float]] = []
    submitted: dict[int, float] = {}
    first = Countdown(2)
    lock = threading.Lock()

    @task
    def work(index: int) -> int:
        with lock:
            begun.append((index, time.monotonic()))
        if index < 2:
            first.tick()
        time.sleep(0.2)
        return index * 10

    def hold_back(index: int) -> None:
        if index == 2:
            first.done.wait(10)
        submitted[index] = time.monotonic()

    @flow
    def fan() -> list:
        return map_bounded(work, list(range(5)), 4, params=lambda i: {"index": i}, before_submit=hold_back)

    results = fan()
    assert [(item, result, error) for item, result, error in results] == [(i, i * 10, None) for i in range(5)]
    began = dict(begun)
    assert submitted[2] >= max(began[0], began[1])  # held back until the first two had begun
    assert all(submitted[i] < began[i] for i in range(5))


def test_a_countdown_of_nothing_is_done_and_extra_ticks_are_ignored():
    assert Countdown(0).done.is_set()
    countdown = Countdown(1)
    assert not countdown.done.is_set()
    countdown.tick()
    countdown.tick()
    assert countdown.done.is_set()
