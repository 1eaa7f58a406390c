//! What the browser tests share: the playwright-core that `scripts/browser` installs.

use std::path::PathBuf;
use std::process::Command;

/// The folder of playwright-core that `scripts/browser` installs (with Debian's Chromium), or
/// why there is none.
pub fn browser_modules() -> Result<String, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/browser");
    let output = Command::new(script).output().map_err(|error| error.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
