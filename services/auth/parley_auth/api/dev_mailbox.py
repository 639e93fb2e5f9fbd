"""`/dev/mailbox`: the email Parley would have sent, for development and tests (served only
with `EMAIL_DELIVERY=mailbox` outside production; parley_auth.email). A page lists the
messages with their links; `/dev/mailbox/messages?to=` gives them as JSON."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from parley_auth.api.deps import AuthContextDep

router = APIRouter(prefix="/dev/mailbox", include_in_schema=False)


@router.get("/messages")
async def messages(ctx: AuthContextDep, to: str | None = None) -> list[dict[str, Any]]:
    """The kept messages, newest first (those for `to`, when given)."""
    assert ctx.mailbox is not None  # the router is mounted only with a mailbox
    return await ctx.mailbox.messages(to.strip().lower() if to else None)


@router.get("", response_class=HTMLResponse)
async def page(ctx: AuthContextDep) -> HTMLResponse:
    """Every kept message, as a page a person reads."""
    assert ctx.mailbox is not None
    items = "".join(
        f"<article><h2>{escape(m['subject'])}</h2><p><b>To:</b> {escape(m['to'])}</p>"
        f"<pre>{escape(m['text'])}</pre>"
        + (f'<p><a href="{escape(m["link"])}">{escape(m["link"])}</a></p>' if m["link"] else "")
        + "</article>"
        for m in await ctx.mailbox.messages()
    )
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Parley mailbox (development)</title>"
        "<h1>Parley mailbox</h1><p>What Parley would have emailed, newest first.</p>"
        + (items or "<p>No messages yet.</p>"),
        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'"},
    )
