"""`python -m parley_llm_stub`: run the LLM stand-in (settings `PARLEY_LLM_STUB_*`)."""

import logging

import uvicorn

from parley_llm_stub.app import create_app
from parley_llm_stub.config import StubSettings

if __name__ == "__main__":
    settings = StubSettings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        access_log=False,
        log_level=settings.log_level.lower(),
    )
