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
