# GridGIS: `make demo` runs the service with the demo township, `make test` runs the
# whole test suite. Both install what they need first (Debian/Ubuntu packages for
# PostgreSQL + PostGIS and Chromium, then a virtualenv with the project).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The test cluster lives apart from the demo's, so tests never touch demo data.
TEST_DATA_DIR ?= $(if $(filter 0,$(shell id -u)),/var/lib/gridgis/test-$(shell pwd | sha1sum | cut -c1-10),$(CURDIR)/.gridgis/test)

.PHONY: help system venv assets demo serve test lint messages bench db-stop clean

help:
	@echo "make demo   - set up, start the embedded PostGIS, load the demo township, serve"
	@echo "make test   - set up and run the whole test suite on a throwaway PostGIS"
	@echo "make lint   - ruff, mypy --strict and the import-linter contracts"
	@echo "make messages - extract the words users read, update the .po catalogues"
	@echo "make bench  - run the benchmarks in bench/ (slow)"

# System packages: PostgreSQL with PostGIS, Chromium for the map tests, GDAL's
# ogr2ogr (the OGC API client in the tests), python venv.
system:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing="$$missing postgresql-postgis"; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	{ command -v ogr2ogr && command -v ogrinfo; } >/dev/null 2>&1 || missing="$$missing gdal-bin"; \
	ls /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc >/dev/null 2>&1 || missing="$$missing fonts-wqy-zenhei"; \
	$(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "please install:$$missing (see README, 'Other systems')"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: system $(STAMP)

# Leaflet, its plugins, jQuery, Bootstrap and Font Awesome for offline maps, taken
# from the npm registry into maps/static/vendor (git-ignored); skipped when current.
assets: venv
	$(BIN)/python -m maps.assets fetch

demo: venv assets
	$(BIN)/gridgis demo

serve: venv assets
	$(BIN)/gridgis serve

test: venv assets
	@url=$$(GRIDGIS_EMBEDDED__DATA_DIR=$(TEST_DATA_DIR) GRIDGIS_EMBEDDED__DATABASE=postgres \
	        $(BIN)/gridgis db start --json >/dev/null && \
	        GRIDGIS_EMBEDDED__DATA_DIR=$(TEST_DATA_DIR) GRIDGIS_EMBEDDED__DATABASE=postgres \
	        $(BIN)/gridgis db url) || exit 1; \
	echo "test PostGIS: $$url"; \
	GRIDGIS_TEST_DATABASE_URL="$$url" $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The words users read: extracted from the code and the page templates (babel.cfg),
# merged into each locale's .po; the English one must stay complete (a test says so).
messages: venv
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -o $(VENV)/messages.pot .
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d gis_service/locale --ignore-obsolete --width 88

bench: venv
	@for script in bench/[a-z]*.py; do echo "== $$script"; PYTHONPATH=$(CURDIR) $(BIN)/python $$script || exit 1; done

db-stop: venv
	$(BIN)/gridgis db stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
