# Set-up is part of every target: a fresh machine needs only python3 (and root for apt).
VENV ?= .venv
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup play test browser compiler bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# the CPU wheel of torch first: a plain "torch" requirement could pull a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

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
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/train_loop.py

clean:
	rm -rf $(VENV) runs
