# make demo   venv + deps, then the mini recipe end to end (reuses finished stages)
# make lint   ruff (Python) and shellcheck (shell scripts)
# make test   lint, then the whole test suite
# make bench  benchmark scripts; figures go to BENCHMARKS.md by hand
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
TEST_WORKERS ?= 2   # pytest-xdist workers for make test (CI: the 2 cores)

.PHONY: demo lint test bench venv venv-dev clean-demo

# A venv is stale when its interpreter no longer runs (e.g. Python was upgraded) or requirements changed.
$(VENV)/.deps: requirements.txt
	@$(VPY) -c 'import sys' 2>/dev/null || { rm -rf $(VENV); $(PY) -m venv $(VENV); }
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.deps-dev: $(VENV)/.deps requirements-dev.txt
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.deps
venv-dev: $(VENV)/.deps-dev

demo: venv
	cd egs/mini && bash run.sh

lint: venv-dev
	$(VPY) -m ruff check .
	@command -v shellcheck >/dev/null || { echo "make lint: shellcheck not found; install it (apt-get install shellcheck)" >&2; exit 1; }
	{ git ls-files -z '*.sh'; printf '.ci/run\0'; } | xargs -0 shellcheck

test: lint
	$(VPY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

bench: venv-dev
	for f in bench/*.py; do case $$f in bench/plain_*) continue ;; esac; \
	  echo "== $$f"; PYTHONPATH=. $(VPY) $$f || exit 1; done   # plain_*: baselines the others run

clean-demo:
	rm -rf egs/mini/data egs/mini/exp egs/mini/fbank egs/mini/fbank40 egs/mini/mfcc egs/mini/corpus
