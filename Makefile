# Finday verify-face. `make demo` runs a real verification locally; `make test` runs the tests.
# Both install what they need into .venv first (PyPI only; the offline model pack included).

# Lambda runs Python 3.12: use it where it exists (pyenv shims answer for versions not
# selected, so each candidate is asked to run), else python3 (3.11+ works too).
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt functions/verify_face/requirements.txt | sha256sum | cut -c1-12)
OFFLINE_HOME := .cache/deepface-offline
export SAM_CLI_TELEMETRY := 0

.PHONY: install demo test events validate build deploy bench-accuracy clean

install: $(STAMP)

$(STAMP): requirements-dev.txt functions/verify_face/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

## The main job: local S3 + offline pack + the handler on events/match.json and events/mismatch.json
demo: $(STAMP)
	$(PY) events/local_demo.py --home $(OFFLINE_HOME)

## All tests (unit + integration); the same command CI runs (.ci/run)
test: $(STAMP)
	$(PY) -m pytest

## Regenerate the committed sam local invoke events from package-shipped images
events: $(STAMP)
	$(PY) events/make_events.py

validate: $(STAMP)
	$(VENV)/bin/sam validate --lint --template template.yaml --region us-east-1

## Needs Docker (not available on the development machines)
build:
	sam build

deploy:
	sam deploy --guided

## Accuracy, false-accept and false-reject rates on ../shared master.csv (offline pack)
bench-accuracy: $(STAMP)
	$(PY) layers/model_weights/provision.py --pack offline --home $(OFFLINE_HOME)
	DEEPFACE_HOME=$(OFFLINE_HOME) MODEL_NAME=Dlib DETECTOR_BACKEND=dlib $(PY) bench/accuracy.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .aws-sam
