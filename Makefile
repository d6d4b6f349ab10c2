# Two commands for a newcomer: `make serve` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install serve test lint test-sqlite test-postgres openapi clients bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

serve: install
	$(BIN)/dsr serve

lint: install
	$(BIN)/ruff check app tests $(wildcard bench)
	$(BIN)/mypy

test-sqlite: install
	DSR_TEST_DATABASE=sqlite $(BIN)/pytest

test-postgres: install
	scripts/ensure-postgres
	DSR_TEST_DATABASE=postgresql $(BIN)/pytest

# The whole suite on SQLite (the embedded default) and on PostgreSQL (production), plus lint.
# The two runs go side by side (each on its own databases and ports); each one's output is
# printed whole when it ends. `make test-sqlite` or `make test-postgres` runs one, streaming.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

openapi: install
	$(BIN)/dsr openapi --output openapi/openapi.json

# The Python client generated from the OpenAPI document (a test fails when it is stale).
clients: openapi
	$(BIN)/python -m openapi_python_client generate --path openapi/openapi.json --meta setup \
		--config clients/python-client.yaml --output-path clients/python --overwrite \
		--fail-on-warning

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
