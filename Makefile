.PHONY: run test lint bench soak

run:
	scripts/run.sh

test:
	scripts/test.sh

lint:
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench:
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/python -m bench.forwarding

soak:
	scripts/bootstrap.sh requirements-dev.txt
	.venv/bin/python -m bench.soak --minutes 10
