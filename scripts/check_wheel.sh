#!/usr/bin/env bash
# The package as a user installs it: build the wheel, install it (no extras) into a fresh
# virtual environment outside the checkout, and from a directory outside the checkout run
# `checker --version`, `checker verify` (exit 0: every property as expected) and
# `checker matrix` (exit 0: every row as expected); `checker conform` without
# confluent-kafka must fail with exit 2 and one line naming the `conform` extra.
# Usage: scripts/check_wheel.sh [PYTHON]  (default .venv/bin/python; it builds the wheel and
# makes the venv). The fresh venv installs the dependencies from pip's cache or PyPI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-$root/.venv/bin/python}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pip=(-m pip --disable-pip-version-check -q)

# Build from a copy: setuptools writes build/ and *.egg-info beside the sources, and files
# left in an old build/lib would go into the wheel.
mkdir "$tmp/src"
tar -C "$root" --exclude=./.git --exclude=./.venv --exclude=./build --exclude='*.egg-info' \
    --exclude=__pycache__ -cf - . | tar -C "$tmp/src" -xf -
"$python" "${pip[@]}" wheel --no-deps -w "$tmp/dist" "$tmp/src"
wheel=("$tmp"/dist/*.whl)
echo "check_wheel: built ${wheel[0]##*/}"

"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" "${pip[@]}" install "${wheel[0]}"
checker="$tmp/venv/bin/checker"

cd "$tmp"  # outside the checkout: only the installed package can be imported
unset PYTHONPATH CHECKER_MODELS
fail() { echo "check_wheel: $*" >&2; exit 1; }

"$checker" --version
"$checker" verify >verify.txt || fail "checker verify exited $? (expected 0):$(printf '\n'; cat verify.txt)"
tail -n 1 verify.txt
"$checker" matrix >matrix.txt || fail "checker matrix exited $? (expected 0):$(printf '\n'; cat matrix.txt)"
grep "configurations, " matrix.txt || true
printf 'group.id=orders\nenable.auto.commit=false\napp.commit=after-each-record\n' >consumer.properties
"$checker" check consumer.properties >check.txt || fail "checker check exited $? (expected 0):$(printf '\n'; cat check.txt)"
head -n 1 check.txt
rc=0
"$checker" conform kafka >conform.txt 2>&1 || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <conform.txt)" = 1 ] && grep -q "kafka-semantics-checker\[conform\]" conform.txt \
    || fail "checker conform without confluent-kafka: exit $rc (expected 2 and one line naming the extra):$(printf '\n'; cat conform.txt)"
echo "check_wheel: the wheel installs; verify, matrix and check as expected; conform names its extra"
