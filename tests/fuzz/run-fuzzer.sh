#!/usr/bin/env bash
# One fuzz ctest: runs FUZZER for SECONDS on a fresh copy of its seed corpus
# (new inputs go to the copy, never into the source tree). libFuzzer exits
# non-zero on a crash, a sanitizer finding, a leak or a timeout, leaving the
# input as WORK/crash-*, leak-* or timeout-*: add it to the target's corpus
# and a unit test once fixed. The targets' stdout (verify's verdicts) is closed.
set -euo pipefail
fuzzer=$(realpath "$1") seeds=$(realpath "$2") work=$(realpath -m "$3") seconds=$4
rm -rf "$work"
mkdir -p "$work/corpus"
cp -r "$seeds/." "$work/corpus/"
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -close_fd_mask=1 \
  -artifact_prefix="$work/" corpus
