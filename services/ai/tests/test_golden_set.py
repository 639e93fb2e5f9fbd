"""The short version of `make eval`: every other question of the golden set, through the real
knowledge and ai services, must meet the extractive provider's targets."""

from __future__ import annotations

import uuid

from eval.harness import Services, evaluate, load_all, load_golden


async def test_the_extractive_provider_meets_its_targets_on_the_golden_set(pipeline) -> None:
    services = Services(
        pipeline.knowledge, pipeline.knowledge_settings, pipeline.ai, pipeline.ai_settings
    )
    sets = load_golden(sample_every=2)
    run = uuid.uuid4().hex[:8]
    await load_all(services, sets, run)
    report = await evaluate(
        services, sets, run=run, label="extractive", provider={"provider": "extractive"}
    )
    summary = "\n".join(report.lines(targets=True))
    assert len({r.tenant for r in report.results}) == 3
    assert report.grounded_rate >= 0.90, summary
    assert report.handoff_rate >= 0.95, summary
    assert report.citation_precision >= 0.95, summary
