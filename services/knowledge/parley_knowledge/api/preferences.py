"""The tenant's knowledge preferences: the language its documents are in when detection
cannot tell (short texts), which decides how their words are stemmed for search."""

from __future__ import annotations

from fastapi import APIRouter
from parley_platform.http.internal import CurrentPrincipal
from pydantic import BaseModel, field_validator

from parley_knowledge.api.dependencies import ComponentsDep, may_read, may_write
from parley_knowledge.api.schemas import Language, language_code

router = APIRouter(prefix="/api/v1/knowledge/preferences", tags=["knowledge"])


class PreferencesIn(BaseModel):
    default_language: Language

    _check_language = field_validator("default_language")(language_code)


class PreferencesOut(BaseModel):
    default_language: str


@router.get("", summary="Knowledge preferences", response_model=PreferencesOut)
async def get_preferences(principal: CurrentPrincipal, components: ComponentsDep) -> PreferencesOut:
    may_read(principal)
    async with components.transaction(principal) as work:
        language = await work.preferences.default_language()
    return PreferencesOut(default_language=language or components.settings.default_language)


@router.put("", summary="Change knowledge preferences", response_model=PreferencesOut)
async def set_preferences(
    body: PreferencesIn, principal: CurrentPrincipal, components: ComponentsDep
) -> PreferencesOut:
    """Set the default language (ISO 639-1) of documents whose language cannot be detected;
    documents indexed from now on use it."""
    may_write(principal)
    async with components.transaction(principal) as work:
        await work.preferences.set_default_language(body.default_language)
    return PreferencesOut(default_language=body.default_language)
