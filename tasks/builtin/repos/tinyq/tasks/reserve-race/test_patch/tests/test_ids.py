from tinyq import IdAllocator


def test_reserve_twice():
    ids = IdAllocator()
    assert ids.reserve(7) is True
    assert ids.reserve(7) is False


def test_allocate_skips_reserved():
    ids = IdAllocator()
    ids.reserve(1)
    ids.reserve(2)
    assert ids.allocate() == 3


import threading  # noqa: E402


class SlowSet(set):
    """A set that lets a second thread try the same id in the middle of the first check."""

    def __init__(self, allocator, job_id):
        super().__init__()
        self.allocator, self.job_id, self.results, self.armed = allocator, job_id, [], True

    def __contains__(self, item):
        found = super().__contains__(item)
        if self.armed:
            self.armed = False
            rival = threading.Thread(target=lambda: self.results.append(self.allocator.reserve(self.job_id)))
            rival.start()
            rival.join(timeout=1.0)  # finishes only if reserve() does not hold the lock across check and add
            self.rival = rival
        return found


def test_reserve_is_atomic_between_threads():
    ids = IdAllocator()
    spy = SlowSet(ids, 42)
    ids._used = spy
    first = ids.reserve(42)
    spy.rival.join(timeout=5)
    assert sorted([first, *spy.results]) == [False, True]


def test_reserve_many_threads_one_winner():
    ids = IdAllocator()
    results = []
    threads = [threading.Thread(target=lambda: results.append(ids.reserve(5))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
