# The two commands of the README: `make demo` and `make test`.
# Both create .venv when missing and install from the committed constraints;
# a second run skips the install (the stamp changes only with the inputs).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-16)

export XDG_RUNTIME_DIR ?= /tmp

.PHONY: demo test lint unit install lock bench clean help libreoffice

help:
	@echo "make demo   - install, start the embedded PostgreSQL, generate demo data, run the pipeline"
	@echo "make test   - install, lint (ruff, mypy, sqlfluff) and run the whole test suite"
	@echo "make bench  - benchmark every stage on the large profile (slow; PROFILE=small for a quick one)"
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

# LibreOffice (headless Calc) checks that packs open without a repair prompt.
# As root with apt-get it is installed when missing (about 35 s, 300 MB); the
# check is then required. Elsewhere, when it cannot be installed, that one
# test skips with the install command and `make test` says so.
libreoffice:
	@command -v soffice >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing libreoffice-calc-nogui (pack files are opened by LibreOffice in the tests)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null 2>&1; } || true; \
	  fi; }
	@command -v soffice >/dev/null 2>&1 || echo "NOTE: LibreOffice is not installed; the pack-opens-in-LibreOffice test will skip (sudo apt-get install libreoffice-calc-nogui)"

test: lint libreoffice
	REVIEW_REQUIRE_LIBREOFFICE=$$(command -v soffice >/dev/null 2>&1 && echo 1 || echo 0) $(BIN)/python -m pytest

# make bench [PROFILE=large] [BENCH_OUT=bench-results] [BENCH_ARGS="--checks-days 62"]:
# generate or reuse the world, then every stage on a fresh <warehouse>_bench database
# (see docs/benchmark.md)
PROFILE    ?= large
BENCH_OUT  ?= bench-results
BENCH_ARGS ?=
bench: install
	$(BIN)/review-pipeline bench --profile $(PROFILE) --out $(BENCH_OUT) $(BENCH_ARGS)

lock:
	$(BIN)/python -m pip freeze --exclude-editable --exclude review-pipeline | grep -v '^-e' > constraints.txt

clean:
	rm -rf .review .pytest_cache .mypy_cache .ruff_cache
