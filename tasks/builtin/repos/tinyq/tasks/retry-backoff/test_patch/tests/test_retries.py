from tinyq import JobQueue, Worker


class Flaky:
    def __init__(self, failures):
        self.failures = dict(failures)
        self.calls = []

    def __call__(self, job):
        self.calls.append(job)
        if self.failures.get(job, 0) > 0:
            self.failures[job] -= 1
            raise RuntimeError(f"{job} failed")


def make(jobs, handler, **options):
    queue = JobQueue()
    for job in jobs:
        queue.put(job)
    sleeps = []
    return Worker(queue, handler, sleep=sleeps.append, **options), sleeps


def test_retries_with_exponential_backoff():
    worker, sleeps = make(["a"], Flaky({"a": 3}), retries=3, backoff=0.5)
    assert worker.run_pending() == 1
    assert sleeps == [0.5, 1.0, 2.0]
    assert worker.done == ["a"]


def test_gives_up_after_retries_and_moves_on():
    handler = Flaky({"a": 10})
    worker, sleeps = make(["a", "b"], handler, retries=2, backoff=1)
    assert worker.run_pending() == 1
    assert handler.calls == ["a", "a", "a", "b"]
    assert sleeps == [1, 2]
    assert [(job, str(exc)) for job, exc in worker.failed] == [("a", "a failed")]
    assert worker.done == ["b"]


def test_no_retries_by_default():
    worker, sleeps = make(["a"], Flaky({"a": 1}))
    assert worker.run_pending() == 0
    assert sleeps == []
    assert len(worker.failed) == 1


def test_no_sleep_for_jobs_that_succeed():
    worker, sleeps = make(["a", "b"], Flaky({}), retries=5)
    assert worker.run_pending() == 2
    assert sleeps == []
