#!/usr/bin/env bash
# Installs what is missing (Python packages, Debian's Chromium) and runs every check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements-dev.txt
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/bin/firefox-esr ] || missing="$missing firefox-esr"
[ -x /usr/bin/turnserver ] || missing="$missing coturn"
command -v node >/dev/null 2>&1 || missing="$missing nodejs npm"
# The weak-link browser tests drop packets with nftables where the kernel has no netem.
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
if [ -n "$missing" ]; then
  sudo_cmd=""
  [ "$(id -u)" = "0" ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >/dev/null
fi
# The Firefox test drives stock Firefox ESR with puppeteer-core (WebDriver BiDi), pinned by its lock file.
if [ ! -d tests/firefox/node_modules/puppeteer-core ]; then
  npm ci --prefix tests/firefox --no-audit --no-fund --loglevel=error
fi
.venv/bin/ruff check .
.venv/bin/mypy
# The checks below run as development does (the settings default to production, which needs a real key).
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
.venv/bin/python manage.py makemigrations --check --dry-run -v0
.venv/bin/python manage.py check
.venv/bin/python -m pytest "$@"
# Run 2: the server-side suite again on PostgreSQL and Redis (DATABASE_URL, REDIS_URL), as deployments
# that scale out run, when both are reachable (as on CI's machine). Browser tests run once, in run 1 (a
# second browser pass would take this command past 20 minutes on a 2-core machine: the browser suite alone
# takes about 14); the scale-out browser tests there already run their servers on Redis.
postgres_url="${CALLS_TEST_POSTGRES_URL:-postgres://127.0.0.1:5432/test}"
redis_url="${CALLS_TEST_REDIS_URL:-redis://127.0.0.1:6379/7}"
if [ "$#" -ne 0 ]; then
  echo "pytest arguments were given: skipping the PostgreSQL and Redis run"
elif ! .venv/bin/python -c "import psycopg, sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "$postgres_url" 2>/dev/null; then
  echo "PostgreSQL is not reachable at $postgres_url: SKIPPING the PostgreSQL and Redis run"
elif ! .venv/bin/python -c "import redis, sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()" "$redis_url" 2>/dev/null; then
  echo "Redis is not reachable at $redis_url: SKIPPING the PostgreSQL and Redis run"
else
  echo "Running the server-side suite again on PostgreSQL ($postgres_url) and Redis ($redis_url)"
  # Not again: the SFU's and the composer's tests (both Django-free: no database, no channel layer), the
  # benchmarks' arithmetic and the soak (its own server, the same churn): about 2 minutes of the budget.
  DATABASE_URL="$postgres_url" REDIS_URL="$redis_url" .venv/bin/python -m pytest --ignore=tests/browser --ignore=tests/compat \
    --ignore=tests/test_sfu.py --ignore=tests/test_sfu_leaks.py --ignore=tests/test_sfu_tap.py \
    --ignore=tests/test_sfu_units.py --ignore=tests/test_sfu_recording.py \
    --ignore=tests/test_sfu_recording_units.py --ignore=tests/test_sfu_receive_path.py --ignore=tests/test_composer.py --ignore=tests/test_bench.py \
    --ignore=tests/test_soak.py
fi
