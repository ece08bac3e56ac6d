import pytest

from tinyq import TokenBucket


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_starts_full():
    bucket = TokenBucket(rate=1, capacity=3, clock=Clock())
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_refills_over_time():
    clock = Clock()
    bucket = TokenBucket(rate=2, capacity=2, clock=clock)
    assert bucket.try_acquire(2)
    clock.now = 0.5
    assert bucket.try_acquire()
    assert not bucket.try_acquire()


def test_refusal_takes_nothing():
    bucket = TokenBucket(rate=1, capacity=2, clock=Clock())
    assert not bucket.try_acquire(3)
    assert bucket.try_acquire(2)


def test_rejects_non_positive_rate():
    with pytest.raises(ValueError):
        TokenBucket(rate=0, capacity=1)
