#!/usr/bin/env bash
# Runs every Strata test: checks formatting, makes sure the databases the tests talk to are up (starting them
# when they are installed but stopped), then runs the whole workspace's tests with cargo-nextest.
#
#   ./scripts/test.sh              # everything
#   ./scripts/test.sh -p strata    # extra arguments go to `cargo nextest run`
#
# With STRATA_REQUIRE_SERVICES=1 (as CI sets it), a database that cannot be reached fails the tests instead of
# skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do
    port_open "$1" && return 0
    sleep 0.5
  done
  return 1
}

ensure_service() {
  local name=$1 port=$2 start=$3
  if port_open "$port"; then
    return 0
  fi
  log "$name is not answering on :$port; starting it"
  if bash -c "$start" >/dev/null 2>&1 && wait_port "$port"; then
    return 0
  fi
  if [ "${STRATA_REQUIRE_SERVICES:-0}" = "1" ]; then
    echo "error: $name is required (STRATA_REQUIRE_SERVICES=1) but could not be started" >&2
    exit 1
  fi
  echo "warning: $name is unavailable; its tests will be skipped" >&2
}

ensure_service PostgreSQL 5432 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
ensure_service MariaDB 3306 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd'

if ! command -v cargo-nextest >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

log "npm ci (the independent JWT verifier the tests use)"
(cd crates/strata/tests/jwt-verifier && npm ci --no-audit --no-fund --silent)

log "npm ci (the OpenID Provider the OAuth2 sign-in tests run against)"
(cd crates/strata/tests/oidc-provider && npm ci --no-audit --no-fund --silent)

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

log "cargo nextest run"
cargo nextest run --workspace --no-fail-fast "$@"

log "benchmark smoke run (that it runs and every request succeeds; no timing is checked)"
./bench/run.sh --smoke

