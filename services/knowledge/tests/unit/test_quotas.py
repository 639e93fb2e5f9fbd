"""Quota decisions: which limit an upload would pass, said so a business understands."""

from __future__ import annotations

from parley_knowledge.domain.documents import Quotas, Usage


def test_usage_within_every_limit_fits():
    assert Quotas(10, 1000, 50).exceeded_by(Usage(10, 1000, 50)) is None


def test_each_limit_is_named_when_passed():
    quotas = Quotas(documents=10, bytes=2 * 1024 * 1024, pages=50)
    assert "11 documents; the limit is 10" in (quotas.exceeded_by(Usage(11, 0, 0)) or "")
    assert "3.0 MB; the limit is 2.0 MB" in (quotas.exceeded_by(Usage(1, 3 * 1024 * 1024, 0)) or "")
    assert "51 pages; the limit is 50" in (quotas.exceeded_by(Usage(1, 0, 51)) or "")


def test_zero_means_no_limit():
    assert Quotas(0, 0, 0).exceeded_by(Usage(10**6, 10**12, 10**7)) is None


def test_a_replaced_version_is_not_counted_twice():
    before = Usage(2, 3000, 4)
    replaced = Usage(1, 1000, 1)
    assert before + Usage(1, 1500, 2) - replaced == Usage(2, 3500, 5)
