//! musl's search rules (ldso/dynlink.c `load_library`).
