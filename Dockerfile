# One image for every Parley service, its consumers and its outbox relay (they share the
# platform library and nearly all dependencies, so one image builds once, caches well and
# is scanned once); the container's command picks the service: `python -m parley_<service>`.
# Also holds the operators' tools (`parley-stack provision`, `parley-dlq`,
# `parley-kafka-acls`) and the WhatsApp sandbox for development.
#
# Runs as a non-root user with a read-only root filesystem (only /tmp needs to be writable:
# a tmpfs/emptyDir); bytecode is compiled at build time so nothing is written at run time.
FROM python:3.11-slim-bookworm AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY deploy/local deploy/local
COPY sandbox sandbox
COPY llm_stub llm_stub
COPY proto proto
# grpcio-tools (a dev dependency) generates the contracts; the final sync drops dev tools and
# installs every workspace package, generated code included, as a regular (non-editable) one.
RUN uv sync --frozen --no-editable \
 && uv run --no-sync python libs/contracts/generate.py \
 && uv sync --frozen --no-dev --no-editable --reinstall-package parley-contracts \
 && find /app/.venv -name "tests" -type d -path "*/parley_*" -prune -exec rm -rf {} +

# The dashboard: its API client is typed from the merged OpenAPI document, which the Python
# build writes without running any service; npm runs here, at build time only.
FROM build AS openapi
RUN uv run --no-sync python -m parley_gateway.web.openapi_export /app/openapi.json

FROM node:20-bookworm-slim AS web
WORKDIR /dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY dashboard ./
COPY --from=openapi /app/openapi.json .generated/openapi.json
RUN npm run --silent generate && npm run --silent build

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 parley \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin parley
COPY --from=build /app/.venv /app/.venv
COPY --from=web /services/gateway/parley_gateway/web/dist /app/dashboard
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    PARLEY_GATEWAY_DASHBOARD_DIR=/app/dashboard
USER 10001:10001
EXPOSE 8080 9080
CMD ["python", "-m", "parley_gateway"]
