# Two commands matter: `make demo` and `make test`. Everything installs into .venv.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CRM := $(VENV)/bin/crm
DEMO_CUSTOMERS ?= 5000
DEMO_TODAY ?=
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MPLBACKEND := Agg

.PHONY: install demo test eval bench lint clean

# Re-install only when the dependency list or the lock changes.
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

# Ends serving the web chat; it prints the URL and the demo logins (Ctrl+C stops it).
demo: install
	$(CRM) demo --reset --customers $(DEMO_CUSTOMERS) $(if $(DEMO_TODAY),--today $(DEMO_TODAY))
	$(CRM) refresh $(if $(DEMO_TODAY),--now $(DEMO_TODAY))
	$(CRM) index --rebuild
	$(CRM) ask "which VIPs went quiet this month?" $(if $(DEMO_TODAY),--now $(DEMO_TODAY))
	$(CRM) serve --demo-login --host $(DEMO_HOST) --port $(DEMO_PORT) $(if $(DEMO_TODAY),--now $(DEMO_TODAY))

test: install
	$(VENV)/bin/pytest -q -p no:cacheprovider

eval: install
	$(PY) -m evals

bench: install
	$(PY) -m evals.bench

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf data .pytest_cache .ruff_cache
