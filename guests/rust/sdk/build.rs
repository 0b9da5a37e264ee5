//! wit-bindgen reads `wit/` inside a macro, which cargo does not watch:
//! rebuild the bindings whenever the WIT changes.
fn main() {
    println!("cargo:rerun-if-changed=../../../wit");
}
