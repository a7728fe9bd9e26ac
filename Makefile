# Two commands do all the set-up on a fresh Debian 12 or Ubuntu 22.04/24.04 machine:
#   make run    install what is missing, then run the multi_vpc_leased_line scenario
#   make test   install what is missing, then run the whole test suite
# Both work as root and with sudo.

VENV ?= .venv
PYTHON ?= python3
SCENARIO ?= multi_vpc_leased_line
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
PY := $(VENV)/bin/python

.PHONY: install run lab test unit bench clean graph

install:
	VENV=$(VENV) PYTHON=$(PYTHON) ./scripts/install.sh

run: install
	$(SUDO) $(PY) -m emulator run $(SCENARIO)

lab: install
	$(SUDO) $(PY) -m emulator lab $(SCENARIO) --until-step 0

test: install
	$(SUDO) $(PY) -m pytest

unit: install
	$(PY) -m pytest tests/unit

bench: install
	$(SUDO) $(PY) bench/run_bench.py
	$(SUDO) $(PY) bench/bench_scale.py

clean: install
	$(SUDO) $(PY) -m emulator clean

graph: install   # the README's picture of the default scenario (no root)
	$(PY) -m emulator graph $(SCENARIO) -o docs/images/$(SCENARIO).png
