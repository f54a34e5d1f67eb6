# VSE Foley development loop. Needs only python3.11 and make; everything else
# is installed into .venv* by these targets.
#
#   make demo          the whole pipeline end to end against a local vendor emulator
#   make test          lint, type check and the whole suite on Blender 4.5 LTS
#   make test-matrix   the suite on Blender 4.2 LTS, 4.5 LTS, 5.0 and 5.2
#   make build         dist/vse_foley-<version>-<platform>.zip + a repository index
#   make bench         performance figures -> bench/latest.json

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

BLENDER ?= 4.5
MATRIX := 4.2 4.5 5.0 5.2
PYTEST_ARGS ?=

# One virtual environment per Blender version; 4.5 is the default one.
venv_dir = $(if $(filter 4.5,$(1)),.venv,.venv-$(1))
python_minor = $(if $(filter 5.1 5.2,$(1)),3.13,3.11)
VENV := $(call venv_dir,$(BLENDER))
PY := $(VENV)/bin/python

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' blender_manifest.toml)
# Blender's own extension tool, from the bpy wheel (runs under plain Python).
BLENDER_EXT = $(shell $(PY) -c "import bpy; print(bpy.utils.system_resource('SCRIPTS'))" 2>/dev/null)/addons_core/bl_pkg/cli/blender_ext.py

.PHONY: venv wheels lint test test-blender test-matrix build demo bench clean

$(VENV)/.stamp: requirements/dev.txt requirements/blender-$(BLENDER).txt
	@echo "== creating $(VENV) for Blender $(BLENDER)"
	@base=$${PYTHON_$(subst .,_,$(call python_minor,$(BLENDER))):-$$(devtools/find_python.sh $(call python_minor,$(BLENDER)))}; \
	  [ -x $(PY) ] || "$$base" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt -r requirements/blender-$(BLENDER).txt
	@# The checkout is the package `vse_foley` for the CLI and the pure tests.
	ln -sfn "$(CURDIR)" "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/vse_foley"
	touch $@

venv: $(VENV)/.stamp

wheels/.stamp: blender_manifest.toml devtools/fetch_wheels.py | $(VENV)/.stamp
	$(PY) devtools/fetch_wheels.py
	touch $@

wheels: wheels/.stamp

# ruff and mypy (with fake-bpy-module stubs, which need Python 3.12+ to parse).
LINT_VENV := .venv-lint
$(LINT_VENV)/.stamp: requirements/dev.txt requirements/lint.txt
	@echo "== creating $(LINT_VENV)"
	@base=$${PYTHON_3_13:-$$(devtools/find_python.sh 3.13)}; [ -x $(LINT_VENV)/bin/python ] || "$$base" -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet -r requirements/lint.txt
	touch $@

lint: $(LINT_VENV)/.stamp
	$(LINT_VENV)/bin/ruff check .
	@# mypy checks the checkout as the package `vse_foley`, whatever the clone's folder is called.
	mkdir -p $(LINT_VENV)/src && ln -sfn "$(CURDIR)" $(LINT_VENV)/src/vse_foley
	$(LINT_VENV)/bin/mypy

# The whole suite on one Blender version (no lint).
test-blender: venv wheels
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint test-blender

test-matrix: lint
	@for version in $(MATRIX); do \
	  echo "== Blender $$version"; \
	  $(MAKE) --no-print-directory test-blender BLENDER=$$version || exit 1; \
	done

build: venv wheels
	rm -rf dist && mkdir -p dist
	$(PY) -m devtools.stage_extension build/stage
	$(PY) "$(BLENDER_EXT)" build --source-dir build/stage --output-dir dist --split-platforms
	@for zip in dist/*.zip; do \
	  $(PY) "$(BLENDER_EXT)" validate "$$zip"; \
	done
	$(PY) "$(BLENDER_EXT)" server-generate --repo-dir dist --html
	$(PY) devtools/check_dist.py dist

demo: venv wheels
	$(PY) -m devtools.demo

bench: venv wheels
	$(PY) -m devtools.bench

clean:
	rm -rf dist build demo-output .pytest_cache .mypy_cache .ruff_cache
