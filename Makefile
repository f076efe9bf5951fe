# odkit: two commands do all the set-up.
#   make demo   install (if needed) and run the main job on an embedded default
#   make test   install (if needed) and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
DEMO_STAMP = $(VENV)/.installed-demo
DEMO_OUT ?= demo_out

.PHONY: demo test lint bench install clean

# the demo needs odkit with training (torch==2.13.0, the CPU build: a local file on these machines; plain `torch`
# pulls a CUDA build) and the data extra; the tests also need their tools and the export extra
$(DEMO_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[train,data]"
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[train,data,test,export]"
	touch $(STAMP)

install: $(STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/odkit demo --out $(DEMO_OUT)

test: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache .hypothesis

# Benchmarks: anchors (pycocotools, faster-coco-eval) go into the same venv; torchvision and tensorflow
# need their own environments (see bench/README.md).
bench: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) bench/run_all.py
