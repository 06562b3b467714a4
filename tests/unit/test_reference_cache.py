"""The reference embedding cache: bounded, least recently used out first, never without an ETag."""

from __future__ import annotations

import numpy as np

from face_verification.reference_url import S3Location
from face_verification.verifier import ReferenceEmbeddingCache


def _at(key: str) -> S3Location:
    return S3Location("faces", key)


def test_keeps_the_embedding_with_the_etag_it_was_computed_from():
    cache = ReferenceEmbeddingCache(max_entries=2)
    cache.put(_at("a.jpg"), '"etag-1"', np.ones(4, np.float32))
    entry = cache.get(_at("a.jpg"))
    assert entry is not None and entry.etag == '"etag-1"'
    assert np.array_equal(entry.embedding, np.ones(4, np.float32))
    assert cache.get(_at("b.jpg")) is None


def test_evicts_the_least_recently_used_entry_beyond_its_size():
    cache = ReferenceEmbeddingCache(max_entries=2)
    cache.put(_at("a.jpg"), "1", np.zeros(4, np.float32))
    cache.put(_at("b.jpg"), "2", np.zeros(4, np.float32))
    cache.get(_at("a.jpg"))  # a is now more recent than b
    cache.put(_at("c.jpg"), "3", np.zeros(4, np.float32))
    assert cache.get(_at("b.jpg")) is None
    assert cache.get(_at("a.jpg")) is not None and cache.get(_at("c.jpg")) is not None


def test_size_zero_or_missing_etag_caches_nothing():
    disabled = ReferenceEmbeddingCache(max_entries=0)
    disabled.put(_at("a.jpg"), "1", np.zeros(4, np.float32))
    assert disabled.get(_at("a.jpg")) is None
    cache = ReferenceEmbeddingCache(max_entries=4)
    cache.put(_at("a.jpg"), "", np.zeros(4, np.float32))  # nothing to revalidate against
    assert cache.get(_at("a.jpg")) is None


def test_clear_empties_it():
    cache = ReferenceEmbeddingCache(max_entries=4)
    cache.put(_at("a.jpg"), "1", np.zeros(4, np.float32))
    cache.clear()
    assert cache.get(_at("a.jpg")) is None
