#!/usr/bin/env bash
# Builds the page's wasm (spindle-web's `demo` example) into
# examples/web/pkg. Needs nightly with rust-src and the wasm32 target, and
# the wasm-bindgen CLI of the crate's exact version on PATH (or in
# target/web-tools/bin, where .ci/web installs it).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
source web/wasm-env.sh
export PATH="$root/target/web-tools/bin:$PATH"
# Release, panics abort: the page never panics on purpose (the tests
# cover panics, with unwinding).
RUSTFLAGS="$WASM_RUSTFLAGS" CARGO_TARGET_DIR=target/wasm \
  cargo +nightly build -Z build-std="$WASM_ABORT_STD" --target "$WASM_TARGET" \
  -p spindle-web --example demo --release
wasm-bindgen --target web --out-dir examples/web/pkg \
  "target/wasm/$WASM_TARGET/release/examples/demo.wasm"
echo "built examples/web/pkg; serve with: python3 examples/web/serve.py"
