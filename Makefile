# The two commands of the README: `make demo` and `make test`.
# Both create .venv when missing and install from the committed constraints;
# a second run skips the install (the stamp changes only with the inputs).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-16)

export XDG_RUNTIME_DIR ?= /tmp

.PHONY: demo test lint unit install lock bench clean help

help:
	@echo "make demo   - install, start the embedded PostgreSQL, generate demo data, run the pipeline"
	@echo "make test   - install, lint (ruff, mypy, sqlfluff) and run the whole test suite"
	@echo "make bench  - benchmark every stage on the large profile (slow; not part of CI)"
	@echo "make lock   - refresh constraints.txt from the current .venv"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

demo: install
	$(BIN)/review-pipeline demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/sqlfluff lint sql --disable-progress-bar --processes 2

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/review-pipeline bench

lock:
	$(BIN)/python -m pip freeze --exclude-editable --exclude review-pipeline | grep -v '^-e' > constraints.txt

clean:
	rm -rf .review .pytest_cache .mypy_cache .ruff_cache
