"""The platform for browser tests: auth, the gateway (serving the built dashboard),
conversation, whatsapp, knowledge and ai running for real in this process, the WhatsApp
sandbox as Meta, the LLM stand-in as the model provider, and Debian's Chromium driven by
Playwright.

Chromium is the machine's (`/usr/bin/chromium`, or PARLEY_CHROMIUM), launched headless with a
fresh profile and no background networking; Playwright never downloads a browser. Every
test's screenshots go to `test-results/browser/` (PARLEY_TEST_RESULTS_DIR); with
PARLEY_UPDATE_DOC_IMAGES=1 the pictures in docs/images are refreshed from them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from parley_ai.main import create_app as ai_app
from parley_conversation.main import create_app as conversation_app
from parley_gateway.web.pages import PACKAGED_BUILD
from parley_knowledge.main import create_app as knowledge_app
from parley_llm_stub.app import create_app as llm_stub_app
from parley_llm_stub.config import StubSettings
from parley_testing.services import RunningApp, free_port, serve_app
from parley_testing.whatsapp import (
    AuthService,
    running_auth,
    running_gateway,
    running_sandbox,
)
from parley_whatsapp.main import create_app as whatsapp_app
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
RESULTS = Path(os.environ.get("PARLEY_TEST_RESULTS_DIR", ROOT / "test-results")) / "browser"
DOC_IMAGES = ROOT / "docs" / "images"
# Phone-sized and desktop viewports.
DESKTOP = {"width": 1360, "height": 860}
PHONE = {"width": 390, "height": 780}


@dataclass
class Platform:
    """Everything a browser journey talks to."""

    auth: AuthService
    gateway: RunningApp
    sandbox: RunningApp
    conversation: RunningApp
    llm_stub: RunningApp

    @property
    def llm_base_url(self) -> str:
        """The stand-in's OpenAI-compatible address, as a tenant types it in AI settings."""
        return f"{self.llm_stub.base_url}/v1"

    @property
    def url(self) -> str:
        return self.gateway.base_url


@pytest.fixture
async def platform(settings_factory) -> AsyncIterator[Platform]:
    if not (PACKAGED_BUILD / "app.html").is_file():
        pytest.fail("the dashboard is not built: run `make web` (make test does it first)")
    conversation_port, whatsapp_port, knowledge_port, ai_port = (free_port() for _ in range(4))
    async with AsyncExitStack() as stack:
        # One Meta: the sandbox verifies the numbers auth connects, sends and posts webhooks.
        sandbox = await stack.enter_async_context(running_sandbox())
        auth = await stack.enter_async_context(running_auth(settings_factory, sandbox=sandbox))
        gateway = await stack.enter_async_context(
            running_gateway(
                settings_factory,
                auth,
                auth_http_url=auth.running.base_url,
                conversation_http_url=f"http://127.0.0.1:{conversation_port}",
                whatsapp_http_url=f"http://127.0.0.1:{whatsapp_port}",
                knowledge_http_url=f"http://127.0.0.1:{knowledge_port}",
                ai_http_url=f"http://127.0.0.1:{ai_port}",
            )
        )
        whatsapp = await settings_factory(
            "whatsapp",
            auth_grpc_target=auth.grpc_target,
            graph_api_base_url=sandbox.base_url,
            conversation_http_url=f"http://127.0.0.1:{conversation_port}",
        )
        await stack.enter_async_context(serve_app(whatsapp_app(whatsapp), port=whatsapp_port))
        settings = await settings_factory(
            "conversation",
            auth_grpc_target=auth.grpc_target,
            ai_http_url=f"http://127.0.0.1:{ai_port}",
        )
        conversation = await stack.enter_async_context(
            serve_app(conversation_app(settings), port=conversation_port)
        )
        knowledge = await stack.enter_async_context(
            # Website imports in the tests read sites served on loopback.
            serve_app(
                knowledge_app(
                    await settings_factory("knowledge", crawl_allow_private_addresses=True)
                ),
                port=knowledge_port,
            )
        )
        llm_stub = await stack.enter_async_context(serve_app(llm_stub_app(StubSettings())))
        ai_settings = await settings_factory(
            "ai", knowledge_grpc_target=f"127.0.0.1:{knowledge.runtime.grpc_port}"
        )
        ai = await stack.enter_async_context(serve_app(ai_app(ai_settings), port=ai_port))
        for consumer in (
            *conversation.runtime.consumers,
            *knowledge.runtime.consumers,
            *ai.runtime.consumers,
        ):
            await consumer.wait_until_assigned()
        yield Platform(auth, gateway, sandbox, conversation, llm_stub)
        # Release any request the stand-in holds, or its server waits for it on the way out.
        await llm_stub.client.delete("/control/faults")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    # launch() gives the browser a fresh, temporary profile of its own.
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A CSP violation is reported on the console: none may happen.
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    assert not errors, f"the page reported errors: {errors}"


@pytest.fixture
def shoot() -> Callable[..., Awaitable[Path]]:
    """`await shoot(page, name, doc=True)`: a screenshot with the test results."""
    return screenshot


async def screenshot(page: Page, name: str, *, doc: bool = False, full_page: bool = False) -> Path:
    """Save a screenshot with the test results (and, when asked, into docs/images)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    if doc and os.environ.get("PARLEY_UPDATE_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_IMAGES / path.name)
    return path
