# EDC Bridge — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv system-deps test lint demo console bench clean

# The virtual environment is built from the project's own files only.
$(STAMP): pyproject.toml edx_xblock/pyproject.toml edx_xblock/tutor_plugin/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[dev]' -e './edx_xblock[test]' -e './edx_xblock/tutor_plugin[test]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests drive for real (SoftHSM2, xmlsec1, php-cli, Chromium, the Docker engine) and
# the learner's documents need (Pango, DejaVu fonts, pdftoppm), installed when missing.
system-deps:
	bash scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

demo: $(STAMP) system-deps
	$(BIN)/python -m bridge.demo

# The sidecar on the data `make demo` left (var/demo), with its staff console at http://127.0.0.1:8080/console/
console: $(STAMP)
	EDC_DATA_DIR=$${EDC_DEMO_DIR:-var/demo} EDC_PUBLIC_URL=http://127.0.0.1:8080 $(BIN)/edc-bridge serve --port 8080

bench: $(STAMP) system-deps
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache
