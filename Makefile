# 海珠商事登记助手 — `make run` starts the bot, `make test` runs every test. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
RASA   := $(VENV)/bin/rasa
PYTHON310 ?= $(shell p=$$(ls -d "$$(pyenv root 2>/dev/null)"/versions/3.10.* 2>/dev/null | sort -V | tail -1); \
	if [ -n "$$p" ]; then echo "$$p/bin/python"; else command -v python3.10; fi)
# this machine's pip configuration names index folders that may not exist; pip warns once per package
QUIET_PIP := { grep -v "^WARNING: Location 'file:" || true; }
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONPATH := $(CURDIR)

TRAINING_INPUTS := config.yml $(wildcard bot/domain/*.yml) $(shell find data -name '*.yml') \
	$(wildcard bot/nlu_components/*.py core/text.py knowledge/lexicon/*) $(wildcard bot/jieba_dict/*)

.PHONY: help install vocab db admin-password retention train run run-scaled test test-unit test-stories lint bench kb-export clean webchat-vendor tracker-retention

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (pyenv install 3.10)"; exit 1; }
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	set -o pipefail; $(PY) -m pip install -q --upgrade "pip<25" "setuptools==70.3.0" wheel 2>&1 | $(QUIET_PIP)
	set -o pipefail; $(PY) -m pip install -q -r requirements.lock 2>&1 | $(QUIET_PIP)
	$(PY) -m pip check
	@touch $@

install: $(VENV)/.installed ## create .venv from Python 3.10 and install the pinned dependencies

vocab: $(VENV)/.installed ## regenerate the jieba dictionary and entity lookup from knowledge/glossary.yml
	$(PY) scripts/build_vocab.py

db: $(VENV)/.installed ## create the database and load knowledge/ into it (DATABASE_URL, default var/hzbot.db)
	$(PY) -m core.setup_db

admin-password: $(VENV)/.installed ## print a new random console password, once (the admin; ACCOUNT=name for another)
	$(PY) -m scripts.accounts reset-password $(ACCOUNT)

models/.trained: $(VENV)/.installed $(TRAINING_INPUTS)
	$(PY) scripts/build_vocab.py --check
	$(RASA) train --domain bot/domain --data data --config config.yml --out models \
		$(if $(filter bot/nlu_components/% bot/jieba_dict/%,$?),--force,)
	@touch $@

retention: $(VENV)/.installed ## erase names, phones and transcripts of tickets closed over TICKET_RETENTION_DAYS (180) ago
	$(PY) -m core.handoff.privacy retention

train: models/.trained ## train the model (only when training data, domain, config or NLU components changed)

run: install db train ## set everything up and run the bot: Rasa :5005, actions :5055, web app :8000
	$(PY) -m scripts.run

run-scaled: install train ## the same bot on PostgreSQL + Redis, RASA_WORKERS Rasa workers behind nginx (installs them)
	$(PY) -m scripts.scaled

test: install db train ## set everything up and run all tests: lint and import contracts, data validation, pytest, stories, NLU figures
	$(MAKE) --no-print-directory lint
	$(RASA) data validate --domain bot/domain --data data --config config.yml
	$(PY) scripts/build_vocab.py --check
	scripts/ensure_browser.sh
	scripts/ensure_services.sh
	scripts/ensure_scaled_deps.sh
	$(PY) -m pytest
	$(PY) scripts/materials_report.py
	$(PY) -m scripts.realq_report --results results/realq.json
	$(MAKE) --no-print-directory test-stories

test-unit: install ## pytest only
	$(PY) -m pytest

test-stories: train ## conversation test stories (fail on any prediction error) and the held-out NLU figures (tests/nlu)
	$(RASA) test --model models --stories tests/stories --nlu tests/nlu --out results \
		--fail-on-prediction-errors
	$(PY) scripts/nlu_report.py results
	$(PY) -m scripts.faq_report

webchat-vendor: ## refresh the web chat's vendored socket.io-client from npm (package.json; committed, so not needed to run)
	npm ci --ignore-scripts --no-audit --no-fund
	cp node_modules/socket.io-client/dist/socket.io.min.js webapp/static/chat/vendor/socket.io.min.js
	cp node_modules/socket.io-client/LICENSE webapp/static/chat/vendor/socket.io-client.LICENSE

lint: install ## ruff on every package and the import contracts (pyproject.toml: the core imports no Rasa, web or outer package)
	$(VENV)/bin/ruff check core actions bot webapp scripts tests
	$(VENV)/bin/lint-imports

bench: install db train ## benchmark of 40-message conversations on a full tracker store (BASE=<commit> beside it, STACK=scaled|both)
	BASE="$(BASE)" STACK="$(STACK)" $(PY) -m scripts.bench

tracker-retention: install ## erase conversation events older than TRACKER_RETENTION_DAYS (30) from the tracker store
	$(PY) -m scripts.trim_tracker

kb-export: install ## write the database's knowledge back to knowledge/ for review in git
	$(PY) -m core.knowledge.export

clean: ## remove trained models, results and the local database
	rm -rf models results var
