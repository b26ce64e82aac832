# Sourced by the web scripts: how spindle is built for the browser.
# Shared memory needs the atomics features in every crate (std rebuilt
# with them: -Z build-std) and these link arguments; without the link
# arguments the memory is silently not shared.
export WASM_TARGET=wasm32-unknown-unknown
export WASM_RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals \
-C link-arg=--shared-memory -C link-arg=--max-memory=1073741824 \
-C link-arg=--import-memory -C link-arg=--export=__wasm_init_tls \
-C link-arg=--export=__tls_size -C link-arg=--export=__tls_align \
-C link-arg=--export=__tls_base"
# The wasm-bindgen CLI must match the crate's version exactly (web/Cargo.toml).
export WASM_BINDGEN_VERSION=0.2.130
# Panics unwind (and come back as errors) only with wasm exception
# handling; the tests need that. Under the release profile's LTO this
# nightly's LLVM crashes on it, so the tests build with the dev profile.
export WASM_UNWIND_RUSTFLAGS="$WASM_RUSTFLAGS -C panic=unwind -C target-feature=+exception-handling"
export WASM_UNWIND_STD="panic_unwind,std"
export WASM_ABORT_STD="panic_abort,std"
