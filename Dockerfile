# One image for every Parley service (they share the platform library and nearly all
# dependencies); the container's command picks the service: `python -m parley_<service>`.
FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY deploy/local deploy/local
COPY sandbox sandbox
COPY proto proto
# grpcio-tools (a dev dependency) generates the contracts; the final sync drops dev tools and
# installs every workspace package, generated code included, as a regular (non-editable) one.
RUN uv sync --frozen --no-editable \
 && uv run --no-sync python libs/contracts/generate.py \
 && uv sync --frozen --no-dev --no-editable --reinstall-package parley-contracts

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home parley
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER 10001
EXPOSE 8080
CMD ["python", "-m", "parley_gateway"]
