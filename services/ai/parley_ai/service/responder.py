"""Deciding the reply to one customer message: the use case behind the ai consumer.

In order: a message the AI cannot read, or one that asks for a callback or concerns the
customer's own case, goes to a person at once. Otherwise the tenant's knowledge base is
searched (this tenant only), and the tenant's provider answers: the extractive answerer, or
an OpenAI-compatible model (primary, then fallback) within the month's budget, its reply
checked for grounding before anyone sees it. When the budget is spent the tenant's choice
applies (extractive answers, or a handoff); when every model fails, a handoff.

Nothing here writes to the database: the handler records the outcome, the usage and the
reply in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from parley_platform.cache import TtlCache
from parley_platform.crypto import SealedSecretError, SecretBox
from parley_platform.db import Database

from parley_ai.config import Settings
from parley_ai.domain import budget, extractive, grounding, prompt
from parley_ai.domain.budget import WhenExhausted
from parley_ai.domain.conversation import READABLE_TYPES, customer_texts, search_query
from parley_ai.domain.decision import Decision, Handoff, HandoffReason, Passage
from parley_ai.domain.escalation import Escalation, needs_a_person
from parley_ai.domain.injection import gives_orders
from parley_ai.domain.language import detect
from parley_ai.domain.pricing import price_of
from parley_ai.domain.prompt import Turn
from parley_ai.domain.settings import AiSettings, Provider, StoredSettings, api_key_context
from parley_ai.llm.chain import CallLog, ModelChain
from parley_ai.repository.settings import SettingsRepository
from parley_ai.repository.usage import UsageRepository
from parley_ai.service.retrieval import KnowledgeSearch, KnowledgeUnavailable

log = logging.getLogger(__name__)

EXTRACTIVE_MODEL = "extractive"


class AlreadyAnswered(Exception):
    """The request was answered before (a redelivery): no model is called for it again."""


async def _never_answered() -> bool:
    return False


@dataclass(frozen=True)
class Question:
    """One customer message the AI is asked to answer."""

    tenant_id: UUID
    text: str
    message_type: str = "text"
    history: tuple[Turn, ...] = ()
    language_hint: str = ""


@dataclass
class Outcome:
    """The decision, and what it took."""

    decision: Decision
    provider: Provider
    model: str = EXTRACTIVE_MODEL
    fallback_used: bool = False
    language: str = "en"
    passages: tuple[Passage, ...] = ()
    calls: CallLog = field(default_factory=CallLog)


class Responder:
    """Turns a Question into an Outcome."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        knowledge: KnowledgeSearch,
        chain: ModelChain,
        keys: SecretBox,
    ) -> None:
        self._settings = settings
        self._database = database
        self._knowledge = knowledge
        self._chain = chain
        self._keys = keys
        self._tenant_settings: TtlCache[UUID, StoredSettings] = TtlCache(
            ttl_s=settings.settings_cache_ttl_s, negative_ttl_s=0, max_entries=50_000
        )

    def forget_settings(self, tenant_id: UUID) -> None:
        """Read the tenant's settings again next time (they were just changed)."""
        self._tenant_settings.invalidate(tenant_id)

    async def _stored_settings(self, tenant_id: UUID) -> StoredSettings:
        async def load() -> StoredSettings:
            async with self._database.tenant_transaction(tenant_id) as transaction:
                return await SettingsRepository(transaction, tenant_id).load()

        stored = await self._tenant_settings.get(tenant_id, load)
        assert stored is not None  # load always returns settings (defaults when none saved)
        return stored

    async def decide(
        self,
        question: Question,
        calls: CallLog | None = None,
        answered_before: Callable[[], Awaitable[bool]] = _never_answered,
    ) -> Outcome:
        """The reply to `question`. `calls` receives every LLM attempt as it is made (so the
        caller still knows them if it cancels this midway). `answered_before` is asked just
        before a model would be paid for: when it says the request was answered already,
        this raises AlreadyAnswered instead (the cheap decisions need no such check: the
        caller's transaction keeps their reply from being sent twice)."""
        calls = calls if calls is not None else CallLog()
        history = question.history
        language = detect(
            question.text, earlier=customer_texts(history), hint=question.language_hint
        )

        def outcome(decision: Decision, provider: Provider = Provider.EXTRACTIVE) -> Outcome:
            return Outcome(decision, provider, language=language, calls=calls)

        if question.message_type not in READABLE_TYPES and not question.text.strip():
            return outcome(
                Handoff(
                    HandoffReason.NO_GROUNDED_ANSWER,
                    f"the customer sent a {question.message_type} message the AI cannot read",
                )
            )
        if escalation := needs_a_person(question.text):
            if escalation.kind == Escalation.CALLBACK:
                return outcome(
                    Handoff(
                        HandoffReason.CUSTOMER_ASKED_FOR_HUMAN,
                        f"the customer asked to be contacted ({escalation.phrase!r})",
                    )
                )
            return outcome(
                Handoff(HandoffReason.POLICY, "the customer has a case of their own for a person")
            )

        if gives_orders(question.text):
            return outcome(
                Handoff(HandoffReason.POLICY, "the message tries to give the AI instructions")
            )

        stored = await self._stored_settings(question.tenant_id)
        tenant = stored.settings
        try:
            found = await self._knowledge.search(
                search_query(question.text, history, language), self._settings.retrieval_top_k
            )
        except KnowledgeUnavailable as error:
            return outcome(Handoff(HandoffReason.NO_GROUNDED_ANSWER, str(error)))
        passages = [p for p in found if not gives_orders(p.text)]
        if len(passages) < len(found):
            log.warning(
                "passages with instructions for the AI left out",
                extra={"documents": sorted({p.document_id for p in found if p not in passages})},
            )

        if tenant.provider == Provider.EXTRACTIVE:
            return self._extractive(question, passages, tenant, language, calls)
        if not passages:
            return Outcome(
                Handoff(HandoffReason.NO_GROUNDED_ANSWER, "nothing in the knowledge base matches"),
                Provider.OPENAI_COMPATIBLE,
                language=language,
                calls=calls,
            )
        built = prompt.build(
            customer_text=question.text,
            history=history,
            passages=passages,
            voice=prompt.Voice(
                business_name=tenant.business_name,
                persona=tenant.persona,
                tone=tenant.tone,
                instructions=tenant.instructions,
            ),
            language=language,
            budgets=self._settings.prompt_budgets(),
        )
        if await answered_before():
            raise AlreadyAnswered
        if not await self._within_budget(question.tenant_id, tenant, built.estimated_tokens):
            if tenant.when_budget_exhausted == WhenExhausted.EXTRACTIVE:
                return self._extractive(question, passages, tenant, language, calls)
            return Outcome(
                Handoff(HandoffReason.BUDGET_EXHAUSTED, "the month's AI budget is spent"),
                Provider.OPENAI_COMPATIBLE,
                language=language,
                calls=calls,
            )
        try:
            api_key = (
                self._keys.open_text(stored.sealed_api_key, api_key_context(question.tenant_id))
                if stored.sealed_api_key
                else ""
            )
        except SealedSecretError:
            log.error("the tenant's provider key does not open (encryption key changed?)")
            return Outcome(
                Handoff(HandoffReason.MODEL_FAILED, "the provider key cannot be read"),
                Provider.OPENAI_COMPATIBLE,
                language=language,
                calls=calls,
            )
        calls.price_tables = (tenant.model_prices, self._settings.prices())
        result = await self._chain.complete(
            tenant.base_url,
            api_key,
            tenant.models,
            built.messages,
            calls,
            temperature=tenant.temperature,
            max_tokens=tenant.max_answer_tokens,
            timeout_s=tenant.request_timeout_s,
        )
        if result.completion is None:
            return Outcome(
                Handoff(HandoffReason.MODEL_FAILED, result.failure or "no model answered"),
                Provider.OPENAI_COMPATIBLE,
                language=language,
                calls=calls,
            )
        decision = grounding.interpret(
            result.completion.text,
            question=question.text,
            passages=built.passages,
            language=language,
            guard=built.guard,
            rules=built.rules,
        )
        return Outcome(
            decision,
            Provider.OPENAI_COMPATIBLE,
            model=result.completion.model,
            fallback_used=result.fallback_used,
            language=language,
            passages=built.passages,
            calls=calls,
        )

    def _extractive(
        self,
        question: Question,
        passages: list[Passage],
        tenant: AiSettings,
        language: str,
        calls: CallLog,
    ) -> Outcome:
        decision = extractive.answer(
            question.text,
            passages,
            language=language,
            threshold=tenant.handoff_threshold,
            max_chars=self._settings.extractive_excerpt_chars,
        )
        return Outcome(
            decision,
            Provider.EXTRACTIVE,
            language=language,
            passages=tuple(passages),
            calls=calls,
        )

    async def _within_budget(self, tenant_id: UUID, tenant: AiSettings, prompt_tokens: int) -> bool:
        """Whether the worst case of the next call (the dearest model, every token of the
        prompt and of the longest answer) fits the month's remaining budget."""
        if tenant.monthly_budget_usd is None:
            return True
        operator_prices = self._settings.prices()
        worst = max(
            price_of(model, tenant.model_prices, operator_prices).cost(
                prompt_tokens, tenant.max_answer_tokens
            )
            for model in tenant.models
        )
        first_day = budget.month_start(datetime.now(UTC).date())
        async with self._database.tenant_transaction(tenant_id) as transaction:
            spent = await UsageRepository(transaction, tenant_id).spent_since(first_day)
        return budget.check(spent, tenant.monthly_budget_usd, worst).allowed
