"""`python -m parley_sandbox`: run the WhatsApp sandbox (settings `PARLEY_SANDBOX_*`)."""

import logging

import uvicorn

from parley_sandbox.app import create_app
from parley_sandbox.config import SandboxSettings

if __name__ == "__main__":
    settings = SandboxSettings()
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
