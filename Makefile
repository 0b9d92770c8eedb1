.PHONY: run test lint bench bench-quick soak

run:
	scripts/run.sh

test:
	scripts/test.sh

lint:
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

bench:
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/python -m bench

bench-quick:
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/python -m bench --quick --out bench/results/quick

soak:
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/python -m bench.soak --minutes 10
