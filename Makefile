# Two commands for a fresh machine with Python 3.11:
#   make book   builds the whole book, every chapter executed, into _build/html
#   make test   ruff, the package tests, every chapter under nbval, the book build with -W, and
#               checks of the built pages (figures are images, math renders offline)
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

.PHONY: book test lint unit chapters book-strict figures-check math-check browser-check clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test]"
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --keep-going
	@$(MAKE) --no-print-directory figures-check math-check
	@echo "Book written to _build/html/index.html"

# A matplotlib figure that reaches the page as its text repr ("<Figure size ...>") instead of
# an image means the kernel ran without the inline backend (for example with MPLBACKEND set).
figures-check:
	@if grep -l "&lt;Figure size" _build/html/book/*.html; then \
		echo "The pages above show a figure's text instead of its image."; exit 1; fi

# Math must render without a network: every page with math loads MathJax from the build's own
# copy (_static/mathjax, from the pinned PyPI package sphinx-mathjax-offline), which must exist,
# and no page loads a script from a CDN or any other host.
math-check: $(STAMP)
	@$(BIN)/python tools/check_offline_math.py _build/html

# The pages with math rendered in headless Chromium with the network off: every math node must
# typeset, and a control page that loads MathJax from its CDN must not. Skipped (with a message)
# where Chromium is not installed; CI does not depend on it.
browser-check: $(STAMP)
	@$(BIN)/python tools/check_math_in_browser.py _build/html

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile tests

chapters: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax book

book-strict: $(STAMP)
	$(BIN)/jupyter-book build . -W --keep-going
	@$(MAKE) --no-print-directory figures-check math-check browser-check

test: lint unit chapters book-strict

clean:
	rm -rf _build .jupyter_cache
