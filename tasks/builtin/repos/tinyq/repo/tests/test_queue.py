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
