"""Which offset a consumer may commit while records finish out of order."""

from __future__ import annotations

from parley_platform.events.consumer import _Progress


def test_the_commit_never_passes_a_record_that_is_still_in_progress() -> None:
    progress = _Progress()
    for offset in (10, 11, 12, 13):
        progress.fetched(offset)
    progress.finish(12)  # another conversation's record, done first
    progress.finish(13)
    assert progress.to_commit() is None  # 10 is still being handled
    progress.finish(10)
    assert progress.to_commit() == 11  # 11 is not done yet
    progress.finish(11)
    assert progress.to_commit() == 14
    progress.committed = 14
    assert progress.to_commit() is None  # nothing new
