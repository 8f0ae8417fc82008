# Set-up is part of every target: a fresh machine needs only python3 (and root for apt).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# reference packages installed without their own requirements: torchattacks asks for
# torchvision (a multi-GB CUDA build here) and an old requests, and imports neither
NODEPS := torchattacks==3.5.1

.PHONY: setup play test browser compiler bench lock clean

# Every package at the version and hash CI tested (requirements.lock, requirements-nodeps.lock),
# installed with --no-deps: nothing is resolved afresh on a new machine.
$(VENV)/.installed: requirements.lock requirements-nodeps.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --require-hashes --no-deps -r requirements.lock -r requirements-nodeps.lock
	$(PIP) install -q --no-deps --no-build-isolation -e .
	@# the lock is consistent (torchattacks' own requirements are left out on purpose)
	@! $(PIP) check | grep -v -e '^torchattacks ' -e '^No broken requirements'
	touch $@

# onnxruntime-web for the playground's Predict view: exactly package-lock.json into node_modules/
# (git-ignored; nnplay serve hands out its .mjs/.wasm at /ort/, never from a CDN).
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q npm; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed node_modules/.installed

# Refresh the lock files from pyproject.toml (newest versions the requirements allow).
lock:
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(PIP) install -q pip-tools
	$(VENV)/bin/pip-compile -q --extra dev --extra scale --all-build-deps --generate-hashes --allow-unsafe \
	  --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	d=$$(mktemp -d) && $(PIP) download -q --no-deps -d $$d $(NODEPS) && \
	  { echo "# $(NODEPS), installed with --no-deps (see the Makefile); written by make lock"; \
	    for f in $$d/*; do n=$$(basename $$f | cut -d- -f1); v=$$(basename $$f | cut -d- -f2); \
	      echo "$$n==$$v --hash=sha256:$$(sha256sum $$f | cut -d' ' -f1)"; done; } > requirements-nodeps.lock; \
	  rm -rf $$d

# Browser tests use Debian's chromium (never "playwright install": it downloads);
# fonts-nanum gives Hangul glyphs to screenshots and Korean report plots.
browser:
	@{ command -v chromium >/dev/null && [ -d /usr/share/fonts/truetype/nanum ]; } || \
	  { apt-get update -q && apt-get install -y -q chromium fonts-nanum; }

# The compiled training step (train.compile) has TorchInductor build C++ with g++.
compiler:
	@command -v g++ >/dev/null || { apt-get update -q && apt-get install -y -q g++; }

play: setup compiler
	$(VENV)/bin/nnplay serve --open

test: setup browser compiler
	$(PY) -m pytest -n 2

# nnplay's training loop vs a hand-written PyTorch loop (+ Keras/JAX reference rows)
bench: setup
	$(PIP) install -q -e '.[bench]'
	$(PY) benchmarks/train_loop.py

clean:
	rm -rf $(VENV) runs node_modules
