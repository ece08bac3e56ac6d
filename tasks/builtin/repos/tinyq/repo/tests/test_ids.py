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
