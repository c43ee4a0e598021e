#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs every
# test three ways: a normal build (plus the install-and-consume test), under
# AddressSanitizer+UndefinedBehaviorSanitizer, and under ThreadSanitizer.
# Usage: ./test/run.sh [normal|address|thread ...]   (default: all three)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/test/install-deps.sh"
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(normal address thread)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
for mode in "${modes[@]}"; do
  dir="$root/build-test-$mode"
  san=$([ "$mode" = normal ] && echo "" || echo "$mode")
  echo "=== $mode build ===" >&2
  cmake -S "$root" -B "$dir" -DTROUPE_SANITIZE="$san" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$dir" -j2 >/dev/null
  # TSan needs an address layout it understands: run without ASLR where allowed.
  runner=()
  if [ "$mode" = thread ] && command -v setarch >/dev/null && setarch "$(uname -m)" -R true 2>/dev/null; then
    runner=(setarch "$(uname -m)" -R)
  fi
  "${runner[@]}" ctest --test-dir "$dir" --output-on-failure -j2
done
