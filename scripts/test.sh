#!/usr/bin/env bash
# Installs what is missing (Python packages, Debian's Chromium) and runs every check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements-dev.txt
if [ ! -x /usr/bin/chromium ]; then
  sudo_cmd=""
  [ "$(id -u)" = "0" ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/python manage.py makemigrations --check --dry-run -v0
.venv/bin/python manage.py check
.venv/bin/python -m pytest "$@"
