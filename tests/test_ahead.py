"""The read-ahead helper that decodes a source, and detects a live one, on a thread of its own."""

import threading
import time

import pytest

from recognizer.ahead import Ahead


def test_items_arrive_in_order_and_the_thread_ends():
    ahead = Ahead((i * i for i in range(100)), depth=3)
    assert list(ahead) == [i * i for i in range(100)]
    assert not ahead._thread.is_alive()


def test_an_error_in_the_helper_is_raised_in_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"), Ahead(items(), depth=2) as ahead:
        for item in ahead:
            got.append(item)
    assert got == [1, 2]


def test_leaving_early_stops_a_producer_blocked_on_a_full_queue():
    produced = []

    def endless():
        while True:
            produced.append(1)
            yield len(produced)

    ahead = Ahead(endless(), depth=2)
    for item in ahead:
        if item == 3:
            break
    ahead.close()
    assert not ahead._thread.is_alive()
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count  # nothing is produced after close


def test_close_from_another_thread_ends_the_consumer():
    def slow():
        while True:
            time.sleep(0.01)
            yield 0

    ahead = Ahead(slow(), depth=2)
    threading.Timer(0.2, ahead.close).start()
    started = time.monotonic()
    for _ in ahead:
        pass
    assert time.monotonic() - started < 2.0


def test_newest_drops_the_oldest_items_for_a_slow_consumer():
    ahead = Ahead(iter(range(50)), depth=2, newest=True)
    got = []
    for item in ahead:
        got.append(item)
        time.sleep(0.02)  # slower than the producer
    assert got[-1] == 49  # the end still arrives
    assert got == sorted(got) and len(got) < 50 and ahead.dropped == 50 - len(got)
