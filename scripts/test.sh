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
.venv/bin/python manage.py makemigrations --check --dry-run -v0
.venv/bin/python manage.py check
.venv/bin/python -m pytest "$@"
# The same server-side suite again on PostgreSQL, when one is reachable (as on CI's machine): the
# embedded default is SQLite, but deployments move to PostgreSQL (DATABASE_URL). Browser tests run once.
postgres_url="${CALLS_TEST_POSTGRES_URL:-postgres://127.0.0.1:5432/test}"
if [ "$#" -eq 0 ] && .venv/bin/python -c "import psycopg, sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "$postgres_url" 2>/dev/null; then
  echo "Running the server-side suite again on PostgreSQL ($postgres_url)"
  DATABASE_URL="$postgres_url" .venv/bin/python -m pytest --ignore=tests/browser
else
  echo "PostgreSQL is not reachable at $postgres_url (or pytest arguments were given): skipping the PostgreSQL run"
fi
