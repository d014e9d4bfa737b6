# Fieldcase: `make run` starts the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export QT_QPA_PLATFORM ?= offscreen

.PHONY: run test test-deploy lint bench screenshots installer clean venv

# Every package from the lock file, each checked against its sha256 (tools/lock.py writes the
# lock; run `$(PY) -m tools.lock` after changing pyproject.toml's dependencies), then the
# project itself, built by the locked setuptools (no build isolation: nothing unpinned).
LOCK   := requirements/lock-linux-x86_64.txt

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	QT_QPA_PLATFORM= $(PY) -m tools.demo

# Two workers, whole files each (module-scoped services start once), random order
# (pytest-randomly prints its seed; rerun one with -p randomly --randomly-seed=N). On a quiet
# 2-core machine this was the fastest: about 2 minutes (-n 4 took a little longer).
# PYSIDE6_OPTION_LAZY=0: Qt's types made at import (app/ui/qt.py says why).
# --max-worker-restart=0: a worker that dies (a crash in Qt, say) ends the run there, its test
# named in the summary, rather than being replaced: after a replacement xdist's loadfile
# scheduler can wait for ever for work that was already done (pytest-xdist issues 784, 1313).
# compileall first: the tests start the service and the command line as child processes some
# hundreds of times, and where PYTHONDONTWRITEBYTECODE is set (as on CI) each would compile
# the project's sources again (about 0.2 s a start).
test: $(STAMP)
	$(PY) -m compileall -q app server sync tools tests > /dev/null
	QT_QPA_PLATFORM=offscreen PYSIDE6_OPTION_LAZY=0 $(PY) -m pytest -q -n 2 --dist loadfile -p randomly --max-worker-restart=0 \
		--ignore=tests/deploy

# Deployment rehearsals (tests/deploy): fresh Debians by debootstrap; the service's container
# image built on one and run under podman, and docs/server-deployment.md followed on one booted
# with systemd-nspawn. Root, debootstrap, podman, runc and systemd-container needed (.ci/run
# installs them and runs this after `make test`).
test-deploy: $(STAMP)
	$(PY) -m pytest -q -p no:randomly -p no:xdist tests/deploy

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m bench.run_all

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m tools.screenshots docs/screenshots

installer: $(STAMP)
	$(PY) -m installer.build

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
