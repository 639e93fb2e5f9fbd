"""Write the public API's OpenAPI document without running anything, for the dashboard's
build: `python -m parley_gateway.web.openapi_export <file>`.

The document is the one the running gateway serves at /openapi.json (the same merge of each
service's own document), built from the services' apps in this process; the dashboard's
typed API client is generated from it, so a change of an API the dashboard uses fails the
dashboard's type check instead of a user's click.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from fastapi.openapi.utils import get_openapi

from parley_gateway.api.openapi import merge
from parley_gateway.api.routes import UPSTREAMS


def document() -> dict[str, Any]:
    """The merged OpenAPI document of the gateway and every service behind it."""
    gateway = importlib.import_module("parley_gateway.main").create_app()
    own = get_openapi(title="Parley API", version="1", routes=gateway.routes)
    services = {
        upstream.service: importlib.import_module(f"parley_{upstream.service}.main")
        .create_app()
        .openapi()
        for upstream in UPSTREAMS
    }
    return merge(own, services)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m parley_gateway.web.openapi_export <output.json>\n")
        return 2
    target = Path(argv[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document(), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
