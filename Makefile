# CloudWindow 云窗口 — the two commands: `make demo` and `make test`.
# Each installs what it needs from a fresh clone: a virtualenv with the Python
# dependencies, the npm dependencies and the built web pages, and (for tests, as root)
# Debian's Chromium and CJK fonts.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed
WEB_BUILT := src/cloudwindow/static/console/index.html
WEB_SOURCES := $(shell find web/src web/console web/kiosk web/agent web/index.html web/vite.config.ts web/package.json -type f 2>/dev/null)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test lint install web sysdeps openapi bench clean serve

demo: install web ## install, migrate, load the sample district, serve on SQLite
	$(BIN)/cloudwindow demo --host $(HOST) --port $(PORT)

test: install web sysdeps ## run the whole test suite
	cd web && npm test --silent
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install $(WEB_STAMP) ## ruff + mypy (strict) + front-end type check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd web && npm run typecheck --silent

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

web: $(WEB_BUILT)

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_BUILT): $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run build --silent
	test -f $@

# The browser tests drive Debian's Chromium (never a downloaded browser) and need CJK
# fonts to render Chinese. Installed with apt-get when missing (needs root).
sysdeps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk" || { \
	  echo "Installing chromium and fonts-noto-cjk with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }
	@# Sealed PDFs: a TrueType CJK font to embed, and poppler's pdfsig/pdffonts/pdftoppm for the tests
	@fc-list 2>/dev/null | grep -qi "wqy-zenhei" && command -v pdfsig >/dev/null 2>&1 || { \
	  echo "Installing fonts-wqy-zenhei and poppler-utils with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei poppler-utils >/dev/null; }
	@# The relay-only call test starts a real coturn; the recording test probes with ffprobe
	@command -v turnserver >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || { \
	  echo "Installing coturn and ffmpeg with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq coturn ffmpeg >/dev/null; }

openapi: install ## regenerate the API schema and the web client's types
	$(BIN)/cloudwindow openapi var/openapi.json
	cd web && npm run gen:api --silent

serve: install web
	$(BIN)/cloudwindow db upgrade
	$(BIN)/cloudwindow serve --host $(HOST) --port $(PORT)

bench: install ## catalogue benchmarks (results go in docs/benchmarks.md)
	$(BIN)/python bench/catalog_bench.py --postgres "$${CLOUDWINDOW_TEST_POSTGRES_URL:-}"

clean:
	rm -rf $(VENV) web/node_modules src/cloudwindow/static var
