"""The shard boundary's helpers: which inputs count as already published."""

from __future__ import annotations

import pickle

from tasks.process import NOTHING_PUBLISHED, PublishedIds, article_id_for


def test_published_ids_hold_exactly_the_ids_given():
    ids = [article_id_for(f"page {n}".encode()) for n in range(1000)]
    published = PublishedIds.of(ids[::2])
    assert len(published) == 500
    assert all(i in published for i in ids[::2])
    assert not any(i in published for i in ids[1::2])
    assert ids[0] not in NOTHING_PUBLISHED


def test_published_ids_cover_the_whole_64_bit_range():
    extremes = ["0000000000000000", "ffffffffffffffff", "8000000000000000"]
    published = PublishedIds.of(extremes)
    assert all(i in published for i in extremes)
    assert "7fffffffffffffff" not in published
    assert "fffffffffffffffe" not in published


def test_published_ids_ship_as_one_buffer():
    ids = [article_id_for(str(n).encode()) for n in range(10_000)]
    shipped = pickle.dumps(PublishedIds.of(ids))
    assert len(shipped) < 10 * len(ids)  # 8 bytes an id, plus the array's header
    assert all(i in pickle.loads(shipped) for i in ids[:100])
