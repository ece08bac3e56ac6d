from tinyq import JobQueue


def test_lower_priority_number_first():
    queue = JobQueue()
    queue.put("later", priority=5)
    queue.put("sooner", priority=1)
    assert [queue.get(), queue.get()] == ["sooner", "later"]


def test_empty_queue_returns_none():
    assert JobQueue().get() is None


def test_len_counts_jobs():
    queue = JobQueue()
    queue.put("a")
    queue.put("b")
    assert len(queue) == 2


def test_equal_priority_is_fifo():
    queue = JobQueue()
    for job in ["b", "a", "c"]:
        queue.put(job, priority=2)
    assert [queue.get() for _ in range(3)] == ["b", "a", "c"]


def test_unorderable_jobs_with_equal_priority():
    queue = JobQueue()
    queue.put({"id": 1}, priority=1)
    queue.put({"id": 2}, priority=1)
    assert [queue.get(), queue.get()] == [{"id": 1}, {"id": 2}]
