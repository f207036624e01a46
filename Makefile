# Streamdesk: `make run` starts the app, `make test` runs the whole suite headless.
# Both set up everything on first use: the system packages Qt and the keychain need
# (apt-get when root, else the command to run is printed) and the virtualenv in .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench screenshot bundle bundle-onefile bundle-test sysdeps venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,charts]'
	@touch $(STAMP)

venv: $(STAMP)

sysdeps:
	@sh packaging/sysdeps.sh

run: sysdeps venv
	$(BIN)/streamdesk

test: sysdeps venv
	sh tests/with-keyring.sh $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check desktop tests benchmarks packaging
	$(BIN)/ruff format --check desktop tests benchmarks packaging
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_structure.py

bench: venv
	@for b in benchmarks/*.py; do echo "== $$b"; QT_QPA_PLATFORM=offscreen $(BIN)/python $$b || exit 1; done

screenshot: sysdeps venv
	xvfb-run -a -s "-screen 0 1280x860x24" $(BIN)/python -m streamdesk.ui.screenshots resources/screenshots

bundle: sysdeps venv
	@sh packaging/sysdeps.sh bundle
	$(BIN)/python -m pip install --quiet -e '.[bundle]'
	$(BIN)/pyinstaller --noconfirm --clean --distpath dist --workpath build packaging/streamdesk.spec

bundle-onefile: sysdeps venv
	@sh packaging/sysdeps.sh bundle
	$(BIN)/python -m pip install --quiet -e '.[bundle]'
	STREAMDESK_ONEFILE=1 $(BIN)/pyinstaller --noconfirm --clean --distpath dist --workpath build/onefile packaging/streamdesk.spec

bundle-test: bundle
	QT_QPA_PLATFORM=offscreen dist/streamdesk/streamdesk --version
	QT_QPA_PLATFORM=offscreen STREAMDESK_HOME=$$(mktemp -d) dist/streamdesk/streamdesk --selftest
	@du -sh dist/streamdesk

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
