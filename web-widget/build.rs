//! Builds the browser half of the web (the islands, compiled to wasm32 and bound with
//! wasm-bindgen) so that the server binary embeds it: `boutique up` serves a hydrating site with
//! no separate front-end step. Runs only for the server build; the wasm build itself has the
//! `hydrate` feature and skips this.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasm module's name, as the hydration script loads it.
const OUTPUT_NAME: &str = "web_widget";

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-env-changed=WASM_BUILD_STD");
    if std::env::var_os("CARGO_FEATURE_SSR").is_none() || std::env::var_os("CARGO_FEATURE_HYDRATE").is_some() {
        return;
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wasm = build_client(&out_dir);
    let pkg = out_dir.join("pkg");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .and_then(|bindgen| bindgen.out_name(OUTPUT_NAME).generate(&pkg))
        .unwrap_or_else(|error| panic!("wasm-bindgen could not bind {}: {error}", wasm.display()));
}

/// Compiles this crate with `hydrate` for wasm32 into a target directory of its own (so the
/// server's and the client's builds never evict each other) and returns the module's path.
fn build_client(out_dir: &Path) -> PathBuf {
    let target_root = out_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
        .and_then(|build| build.parent()?.parent())
        .expect("OUT_DIR lies under <target>/<profile>/build");
    let target_dir = target_root.join("web-client");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["rustc", "--lib", "--crate-type", "cdylib", "--target", "wasm32-unknown-unknown"])
        .args(["--no-default-features", "--features", "hydrate", "--profile", "wasm-release"])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // What cargo tells this script about the server build must not leak into the client's.
    for name in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_TARGET_DIR"]
    {
        command.env_remove(name);
    }
    // Without a prebuilt wasm32 std (Debian's toolchain, see docs/TOOLCHAIN.md), build it from
    // its sources; RUSTC_BOOTSTRAP lets a stable compiler take `-Z build-std`.
    if std::env::var_os("WASM_BUILD_STD").is_some() {
        command.args(["-Z", "build-std=std,panic_abort"]).env("RUSTC_BOOTSTRAP", "1");
    }
    let status = command.status().unwrap_or_else(|error| panic!("could not run cargo for the wasm client: {error}"));
    assert!(
        status.success(),
        "the wasm client did not build (its errors are above); if the wasm32 target is missing, build \
         through scripts/cargo, which installs a toolchain with a wasm32 standard library (docs/TOOLCHAIN.md)"
    );
    target_dir
        .join("wasm32-unknown-unknown/wasm-release")
        .join(format!("{}.wasm", env!("CARGO_PKG_NAME").replace('-', "_")))
}
