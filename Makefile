# lbvae — the two commands a newcomer needs are `make sweep` and `make test`.
PY        := .venv/bin/python
WORKDIR   ?= runs/default
CONFIG    ?= configs/default.py
LINEARDIR ?= runs/linear
# Transparent huge pages for malloc'd memory (glibc >= 2.35; ignored elsewhere, and a
# GLIBC_TUNABLES of your own wins). XLA:CPU allocates each execution's temporaries
# afresh, and with 4 KiB pages every training step page-faults its whole working set
# again (~19 000 faults per model-step): on the 2-core CPU this makes a step ~25%
# faster, PyTorch's as much (docs/performance.md).
export GLIBC_TUNABLES ?= glibc.malloc.hugetlb=1
# An interpreter with torch: `make bench` then also times the published PyTorch
# linear loop side by side (e.g. TORCH_PYTHON=/tmp/torchenv/bin/python).
TORCH_PYTHON ?=
# Extra flags for pytest, e.g. `make test PYTEST_ARGS="-k linear"`.
PYTEST_ARGS ?=
# The accelerator JAX is installed for: cpu (the default), cuda12 or cuda13 (NVIDIA
# GPUs: JAX's CUDA plugin with CUDA's own wheels) or tpu (libtpu). `make sweep
# ACCEL=cuda12` on a GPU host is the whole set-up.
ACCEL ?= cpu
ACCELS := cpu cuda12 cuda13 tpu
ifneq ($(words $(ACCEL)) $(filter $(ACCEL),$(ACCELS)),1 $(ACCEL))
$(error ACCEL must be one of: $(ACCELS); got '$(ACCEL)')
endif
# `make test-accel`: a second environment that compiles for GPUs and TPUs without
# them (JAX's CUDA plugin without CUDA's runtime wheels, ptxas, libtpu).
ACCEL_VENV ?= .venv-accel
ACCEL_PY := $(ACCEL_VENV)/bin/python
JAX_VERSION = $$($(1) -c 'import jax; print(jax.__version__)')

.PHONY: install test test-quick test-accel lint format sweep train evaluate linear bench clean

install: .venv/.installed $(if $(filter-out cpu,$(ACCEL)),.venv/.accel-$(ACCEL))

.venv/.installed: setup.cfg pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# JAX for the accelerator, at the version of the jax already installed (jaxlib and
# the plugin must match it).
.venv/.accel-$(ACCEL): .venv/.installed
	$(PY) -m pip install --quiet "jax[$(ACCEL)]==$(call JAX_VERSION,$(PY))"
	touch $@

$(ACCEL_VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(ACCEL_VENV)
	$(ACCEL_PY) -m pip install --quiet --upgrade pip
	$(ACCEL_PY) -m pip install --quiet -e '.[test]'
	$(ACCEL_PY) -m pip install --quiet "jax[cuda12-local,tpu]==$(call JAX_VERSION,$(ACCEL_PY))" \
	    nvidia-cuda-nvcc-cu12
	touch $@

# The whole suite (the lint first; its 25 slowest tests at the end).
test: lint
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not accel" \
	    --durations=25 $(PYTEST_ARGS)

# Every program of the smoke grid compiled for an H100 (and the fake-device run of
# the same command), in the environment of $(ACCEL_VENV); minutes of CPU.
test-accel: $(ACCEL_VENV)/.installed
	$(ACCEL_PY) -m pytest -m accel tests/accel $(PYTEST_ARGS)

# The edit-test loop: everything but the end-to-end tests marked slow, compiled
# without LLVM's optimisations (XLA's own passes still run). The tests' programs are
# small and run a few steps, so compiling is most of their time: this takes about a
# fifth off the loop's CPU time (docs/performance.md). `make test` (CI) compiles as
# a run does.
test-quick: install
	XLA_FLAGS="--xla_backend_optimization_level=0 $$XLA_FLAGS" \
	    $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not slow and not accel" \
	    $(PYTEST_ARGS)

# ruff's checks (pyproject.toml: [tool.ruff.lint]) and the formatter's check: the tree
# is as `make format` writes it (the house style: 2-space indentation, 88 columns).
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .

# The main job: train both phases of the grid, then evaluate and write the report.
sweep: install
	$(PY) -m experiments.sweep --config=$(CONFIG) --workdir=$(WORKDIR)
	$(PY) -m experiments.evaluate --workdir=$(WORKDIR)

train: install
	$(PY) -m experiments.sweep --config=$(CONFIG) --workdir=$(WORKDIR)

evaluate: install
	$(PY) -m experiments.evaluate --workdir=$(WORKDIR)

# The full linear-Gaussian reproduction of docs/method.md §3 (both solvers, n = 50 and 100).
linear: install
	$(PY) -m experiments.linear --config=configs/linear.py --workdir=$(LINEARDIR)

bench: install
	$(PY) -m experiments.bench --config=configs/bench.py
	$(PY) -m experiments.bench_linear $(if $(TORCH_PYTHON),--torch_python=$(TORCH_PYTHON))

clean:
	rm -rf .venv .venv-accel runs *.egg-info
