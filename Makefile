# Every target sets itself up from nothing: a fresh clone needs only python3 (3.11+).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench constraints clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dr demo

test: lint
	$(PY) -m pytest

# Layers (import-linter), lint (ruff) and types (mypy, strict on the pure layers): see docs/architecture.md.
lint: $(STAMP)
	$(VENV)/bin/ruff check tasks flows tests bench setup.py
	$(VENV)/bin/ruff format --check tasks flows tests bench setup.py
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m bench.run

# Re-pin after changing dependencies in pyproject.toml.
constraints: $(STAMP)
	{ echo "# Exact versions for every install (make install uses: pip install -c constraints.txt)."; \
	  echo "# Regenerate with: make constraints"; \
	  $(PY) -m pip freeze --all --exclude-editable --disable-pip-version-check | grep -v '^pip=='; } > constraints.txt

clean:
	rm -rf $(VENV) out .pytest_cache
