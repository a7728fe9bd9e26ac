# Two commands do all the set-up on a fresh Debian 12 machine (the tested platform; Ubuntu 22.04/24.04 are
# untested, and on 24.04 the test suite's browser package `chromium` is not installable: see README):
#   make run    install what running needs (`make install`), then run the multi_vpc_leased_line scenario
#   make test   also install what only the tests need (`make install-test`), then run the whole test suite
# Both work as root and with sudo, and install only what is missing: a second call installs nothing.
# After either, `sudo python -m emulator ...` works too: it hands itself over to the virtualenv.

# The virtualenv: where scripts/install.sh last made it (.venv-location: /opt/cloud-emulator-venv in the VM),
# else .venv. VENV=DIR overrides.
VENV ?= $(shell cat .venv-location 2>/dev/null || echo .venv)
PYTHON ?= python3
SCENARIO ?= multi_vpc_leased_line
RUN_ARGS ?=
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
PY := $(VENV)/bin/python

.PHONY: install install-test run lab test unit bench clean graph vm-test vm-test-ci

install:        # scripts/packages-run.txt, `pip install -e .`
	VENV=$(VENV) PYTHON=$(PYTHON) ./scripts/install.sh

install-test:   # and scripts/packages-test.txt, setup.cfg's test extra
	VENV=$(VENV) PYTHON=$(PYTHON) ./scripts/install.sh --test

run: install
	$(SUDO) $(PY) -m emulator run $(SCENARIO) $(RUN_ARGS)

lab: install
	$(SUDO) $(PY) -m emulator lab $(SCENARIO) --until-step 0

test: install-test
	$(SUDO) $(PY) -m pytest

unit: install-test
	$(PY) -m pytest tests/unit

bench: install
	$(SUDO) $(PY) bench/run_bench.py
	$(SUDO) $(PY) bench/bench_scale.py

clean: install
	$(SUDO) $(PY) -m emulator clean

graph: install   # the README's picture of the default scenario (no root)
	$(PY) -m emulator graph $(SCENARIO) -o docs/images/$(SCENARIO).png

# The VM lane: a Debian 12 guest with Debian's stock kernel (kernel datapath, netem, 802.1Q), built from
# Debian's packages, provisioned by scripts/provision.sh as the Vagrantfile is (docs/vm-lane.md).
vm-test: install-test   # the whole lane; .ci/run runs it after `make test`
	$(SUDO) $(PY) -m pytest tests/vm -p no:cacheprovider

vm-test-ci: install-test   # a quicker part: provisioning, the default scenario, nothing left behind
	$(SUDO) $(PY) -m pytest tests/vm -p no:cacheprovider -m lane_ci
