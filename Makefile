# jira-ai — `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt 2>/dev/null | sha256sum | cut -c1-16)
DAPHNE_BACKLOG := 2048
export NO_PROXY := 127.0.0.1,localhost,::1
export no_proxy := 127.0.0.1,localhost,::1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*; touch $@

.PHONY: install
install: $(STAMP) ## Create .venv and install the pinned runtime + dev requirements (once)

.PHONY: system-deps
system-deps: ## Install missing system packages (gettext, Chromium for the browser tests, npm, HAProxy for tests/scale) when possible
	@scripts/ensure-system-deps gettext:msgfmt chromium:chromium npm:npm haproxy:haproxy

# `npm ci` only when node_modules is missing or older than the lockfile (axe-core for tests/ui, the
# llama3.1 tokenizer for tests/sandbox).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: node-deps
node-deps: system-deps node_modules/.package-lock.json ## Install the pinned npm packages of the tests (axe-core, llama3.1's tokenizer) with npm ci

.PHONY: messages
messages: system-deps install ## Compile the translations (locale/*.po -> .mo)
	@$(PY) manage.py compilemessages -v 0 --ignore '.venv' --ignore 'node_modules'

.PHONY: lint
lint: install ## ruff check, ruff format --check, mypy, import-linter
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

.PHONY: fmt
fmt: install ## Format and autofix with ruff
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: test
test: install system-deps node-deps messages lint ## Install what the tests need, lint, run the whole suite (real Redis, sandbox, Daphne, Chromium)
	@scripts/with-redis $(PY) -m pytest $(PYTEST_ARGS)

.PHONY: demo
demo: install messages ## Everything on the sandbox: migrate, start sandbox + ai-service + API, print the URL
	@scripts/demo

.PHONY: scale-demo
scale-demo: install messages system-deps ## Two API + two ai-service processes behind HAProxy on the sandbox; prints the balancer URL
	@scripts/scale-demo

.PHONY: run
run: install messages ## Run ai-service and the API with the real configuration from .env
	@scripts/run

.PHONY: migrate
migrate: install ## Apply database migrations
	$(PY) manage.py migrate

.PHONY: fuzz
fuzz: install ## schemathesis over both OpenAPI documents on the sandbox (>1,000 cases per service; CI=true: a ~100-case smoke)
	@scripts/with-redis $(PY) -m tests.fuzz.run $(FUZZ_ARGS)

.PHONY: bench
bench: install ## Benchmarks; results in bench/results/ and the README table
	@scripts/with-redis $(PY) -m bench

.PHONY: bench-litellm
bench-litellm: ## Install LiteLLM 1.106.2 once in bench/.venv-litellm (make bench does it when missing)
	@$(PY) -m bench.litellm

.PHONY: eval
eval: install messages ## Scorecard of the answers users see (sandbox models by default); results in eval/results/
	@scripts/with-redis $(PY) -m eval $(EVAL_ARGS)

.PHONY: clean
clean: ## Remove caches and the test database (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .test-db.sqlite3 staticfiles
