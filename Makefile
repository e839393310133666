# Two commands for a fresh machine with Python 3.11:
#   make book   builds the whole book, every chapter executed, into _build/html
#   make test   ruff, the package tests, every chapter under nbval, and the book build with -W
# Both create .venv and install what they need the first time (and when pyproject.toml or
# constraints.txt change); afterwards they reuse it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 2
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: book test lint unit chapters book-strict clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test]"
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --keep-going
	@echo "Book written to _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

chapters: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax book

book-strict: $(STAMP)
	$(BIN)/jupyter-book build . -W --keep-going

test: lint unit chapters book-strict

clean:
	rm -rf _build .jupyter_cache
