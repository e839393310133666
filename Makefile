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
# The chapters need matplotlib's inline backend in the kernel; a backend from the environment
# (MPLBACKEND=Agg, common on CI machines) would turn every figure into text.
unexport MPLBACKEND

.PHONY: book test lint unit chapters book-strict figures-check clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test]"
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --keep-going
	@$(MAKE) --no-print-directory figures-check
	@echo "Book written to _build/html/index.html"

# A matplotlib figure that reaches the page as its text repr ("<Figure size ...>") instead of
# an image means the kernel ran without the inline backend (for example with MPLBACKEND set).
figures-check:
	@if grep -l "&lt;Figure size" _build/html/book/*.html; then \
		echo "The pages above show a figure's text instead of its image."; exit 1; fi

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

chapters: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax book

book-strict: $(STAMP)
	$(BIN)/jupyter-book build . -W --keep-going
	@$(MAKE) --no-print-directory figures-check

test: lint unit chapters book-strict

clean:
	rm -rf _build .jupyter_cache
