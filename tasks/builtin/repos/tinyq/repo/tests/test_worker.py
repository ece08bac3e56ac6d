from tinyq import JobQueue, Worker


def test_worker_handles_every_job():
    queue = JobQueue()
    for n in range(3):
        queue.put(n)
    seen = []
    assert Worker(queue, seen.append).run_pending() == 3
    assert seen == [0, 1, 2]
