#!/usr/bin/env bash
# Strata's benchmark (SPEC §13) in one command: installs wrk when missing, builds Strata, the ceiling and the
# driver, then runs the driver, which seeds, loads the ceiling and Strata one at a time, prints the table and
# saves it under bench/results/.
#
#   ./bench/run.sh                          # 10,000 posts on SQLite and PostgreSQL, release build
#   ./bench/run.sh --million --stores sqlite  # 1,000,000 posts
#   ./bench/run.sh --smoke                  # CI: seconds, 200 posts, debug build; fails on any failed request
#   ./bench/run.sh --help                   # every option of the driver
#
# BENCH_PROFILE overrides the cargo profile (release; dev with --smoke). CARGO_TARGET_DIR is honoured.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in
  /*) ;;
  *) target="$PWD/$target" ;; # relative to where the caller stands, as cargo reads it
esac
export CARGO_TARGET_DIR="$target"
cd "$root"

profile=release
want_wrk=1
for arg in "$@"; do
  case "$arg" in
    --smoke) profile=dev ;;
    --generator=builtin | builtin) want_wrk=0 ;;
  esac
done
profile="${BENCH_PROFILE:-$profile}"

# wrk is the load generator (Debian package); without it the driver falls back to its in-repo generator.
if [ "$want_wrk" = 1 ] && ! command -v wrk >/dev/null 2>&1; then
  echo "==> installing wrk" >&2
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q wrk >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; } ||
      echo "warning: apt-get could not install wrk" >&2
  fi
  command -v wrk >/dev/null 2>&1 || echo "warning: no wrk; using the in-repo load generator" >&2
fi

# Two builds, not one: built together, cargo would unify reqwest's features across both packages and give the
# driver Strata's TLS feature without a crypto provider, and reqwest panics building a client in that case.
echo "==> cargo build --profile $profile -p strata; cargo build --profile $profile -p strata-bench" >&2
cargo build --quiet --profile "$profile" -p strata
cargo build --quiet --profile "$profile" -p strata-bench

case "$profile" in
  dev) dir=debug ;;
  *) dir="$profile" ;;
esac
exec "$target/$dir/bench" --profile "$profile" "$@"
