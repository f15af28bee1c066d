# Folio: `make run` opens the app, `make test` runs the whole suite.
# Both set up .venv (from PyPI only) when it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GGUF_STAMP := $(VENV)/.gguf-installed

.PHONY: run test lint setup gui-deps clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Folio needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) gui-deps

# The optional GGUF extra, which the tests exercise: llama.cpp compiled portable (a few minutes, once).
$(GGUF_STAMP): $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --quiet -e '.[dev,gguf]'
	@touch $(GGUF_STAMP)

# System libraries Qt needs for a window; installed when we are root, otherwise the exact command is printed.
GUI_LIBS := libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6 libx11-6 libglib2.0-0 \
            libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
            libxcb-shape0 libxcb-xinerama0 libxcb-randr0 fonts-dejavu-core
gui-deps:
	@missing=$$(for p in $(GUI_LIBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "The window needs system libraries; run: sudo apt-get install -y $$missing"; exit 1; fi; \
	fi

run: setup
	$(BIN)/python main.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: $(STAMP) $(GGUF_STAMP) lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not slow"

clean-venv:
	rm -rf $(VENV)

# Desktop build (docs/packaging.md): `make package` builds the one-folder app dist/folio/ with PyInstaller
# (ONEFILE=1 also builds dist/folio-onefile); `make install-desktop` adds Folio to this user's application
# menu (the built app if present, else this checkout), `make uninstall-desktop` removes exactly that.
PACKAGING_STAMP := $(VENV)/.packaging-installed

.PHONY: package install-desktop uninstall-desktop

$(PACKAGING_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,packaging]'
	@touch $(PACKAGING_STAMP)

package: $(PACKAGING_STAMP)
	nice -n 10 $(BIN)/python packaging/build.py $(if $(ONEFILE),--onefile)

install-desktop:
	$(PYTHON) packaging/install_desktop.py install

uninstall-desktop:
	$(PYTHON) packaging/install_desktop.py uninstall
