# Parley — the commands a developer and CI use. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# Use the machine's Python 3.11; never download one.
export UV_PYTHON_DOWNLOADS := never

UV_VERSION := 0.13.8
BOOTSTRAP := .parley/bootstrap
UV := $(shell command -v uv 2>/dev/null || echo $(BOOTSTRAP)/bin/uv)
RUN := $(UV) run --frozen --no-sync

WEB_BUILD := services/gateway/parley_gateway/web/dist

.PHONY: help install proto proto-check web web-test run stop stack-up stack-down stack-status test test-unit lint format typecheck check bench eval chaos fuzz clean

# Source packages, and the test folders (each checked on its own: they share module names).
TYPED_PACKAGES := parley_platform parley_testing parley_devstack parley_sandbox parley_llm_stub \
	parley_gateway \
	parley_auth parley_conversation parley_ai parley_whatsapp parley_knowledge
TYPED_TEST_DIRS := $(wildcard libs/*/tests services/*/tests sandbox/tests llm_stub/tests \
	deploy/local/tests) tests bench eval

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(BOOTSTRAP)/bin/uv:
	@echo "uv not found: installing uv $(UV_VERSION) into $(BOOTSTRAP) (nothing system-wide)"
	@python3.11 -m venv $(BOOTSTRAP) && $(BOOTSTRAP)/bin/pip install -q uv==$(UV_VERSION)

install: $(if $(findstring $(BOOTSTRAP),$(UV)),$(BOOTSTRAP)/bin/uv) ## install every dependency from uv.lock
	@$(UV) sync --frozen --quiet

proto: install ## generate Python code from proto/ into libs/contracts
	@$(RUN) python libs/contracts/generate.py

proto-check: install ## fail if the generated code is stale
	@$(RUN) python libs/contracts/generate.py --check

# The dashboard (dashboard/ → the gateway's web/dist): npm packages come from the registry
# here, at build time only; the typed API client is generated from the public OpenAPI.
dashboard/node_modules/.installed: dashboard/package.json dashboard/package-lock.json
	@cd dashboard && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web: proto dashboard/node_modules/.installed ## build the dashboard the gateway serves
	@$(RUN) python -m parley_gateway.web.openapi_export dashboard/.generated/openapi.json
	@cd dashboard && npm run --silent generate >/dev/null && npm run --silent build

web-test: web ## the dashboard's own unit tests (vitest)
	@cd dashboard && npx vitest run

run: proto web ## bring the whole platform up (Ctrl-C stops it; data kept in .parley/run)
	@$(RUN) parley-stack run

stop: install ## stop a running `make run` from another terminal
	@$(RUN) parley-stack stop

stack-up: install ## only the infrastructure (PostgreSQL, Redis, Kafka) of `make run`
	@$(RUN) parley-stack up

stack-down: install ## stop that infrastructure
	@$(RUN) parley-stack down

stack-status: install ## what is running
	@$(RUN) parley-stack status

test: proto web ## run every test (unit tests, then the rest against real Kafka, PostgreSQL and Redis)
	@cd dashboard && npx vitest run
	@$(RUN) pytest -m unit -q $(PYTEST_ARGS) || [ $$? -eq 5 ]  # 5: none selected
	@$(RUN) pytest -m "not unit" $(PYTEST_ARGS) || [ $$? -eq 5 ]

test-unit: proto ## only the unit tests: pure logic, no infrastructure, seconds
	@$(RUN) pytest -m unit $(PYTEST_ARGS)

lint: install ## ruff lint and format check
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .

format: install ## apply ruff formatting and safe fixes
	@$(RUN) ruff check --fix .
	@$(RUN) ruff format .

typecheck: proto ## mypy over libraries, services, their tests and the benchmarks
	@$(RUN) mypy $(addprefix -p ,$(TYPED_PACKAGES))
	@for dir in $(TYPED_TEST_DIRS); do $(RUN) mypy $$dir || exit 1; done

check: lint typecheck test ## everything CI checks

bench: proto ## run the benchmarks (see docs/performance.md)
	@$(RUN) python -m bench $(BENCH_ARGS)

eval: proto ## the AI's golden set: grounded answers, handoffs, citations (docs/quality.md)
	@$(RUN) python -m eval $(EVAL_ARGS)

chaos: proto ## the full chaos suite on a platform of its own (docs/reliability.md); CHAOS_ARGS="--help"
	@$(RUN) python -m parley_devstack.chaos $(CHAOS_ARGS)

fuzz: proto ## API and webhook fuzzing with many more examples than `make test` (FUZZ_EXAMPLES=100)
	@PARLEY_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),100) $(RUN) pytest -q tests/test_fuzz_api.py tests/test_fuzz_webhooks.py $(PYTEST_ARGS)

clean: ## stop everything and delete local state (.parley)
	-@$(RUN) parley-stack stop 2>/dev/null
	-@$(RUN) parley-stack --profile test down 2>/dev/null
	rm -rf .parley
