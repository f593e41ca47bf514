#!/usr/bin/env bash
# The release profile, measured rather than guessed: builds one function (default create-booking,
# the largest) for this machine under each candidate profile, each in its own target folder, and
# prints build time and stripped size; `make bench`'s cold-start probe then times their init
# (BENCH_COLDSTART_BINARIES=<dir>). Slow: every variant compiles all dependencies.
#   bench/profiles.sh [FUNCTION]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fn=${1:-create-booking}
out=target/profiles
mkdir -p "$out/bin"
echo "| opt-level | lto | codegen-units | build (s) | size (bytes) |"
echo "|---|---|---|---|---|"
for variant in "s fat 1" "3 fat 1" "z fat 1" "s thin 16"; do
  read -r opt lto cu <<<"$variant"
  name="opt$opt-lto$lto-cu$cu"
  start=$(date +%s)
  CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt CARGO_PROFILE_RELEASE_LTO=$lto \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=$cu CARGO_TARGET_DIR="$out/$name" \
    cargo build --quiet --release -p "$fn" --bin "$fn"
  took=$(( $(date +%s) - start ))
  cp "$out/$name/release/$fn" "$out/bin/$fn-$name"
  echo "| $opt | $lto | $cu | $took | $(stat -c %s "$out/bin/$fn-$name") |"
done
