//! The prompt files (`prompts/` in the repository, built in; or a folder the operator names),
//! loaded once at start, and the hash every conversation records.

use std::path::Path;

use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};

/// The repository's prompts, built into the binary.
static BUILT_IN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../prompts");

/// The prompts in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompts {
    /// The Concierge's system prompt.
    pub concierge: String,
    /// The Investigator's system prompt.
    pub investigator: String,
    /// The customer-service policy, appended to the Concierge's prompt.
    pub policy: String,
    /// SHA-256 over the three files, names included: which prompts a conversation used.
    pub hash: String,
}

const FILES: [&str; 3] = ["concierge.md", "investigator.md", "policy.md"];

impl Prompts {
    /// The built-in prompts.
    pub fn built_in() -> Prompts {
        let read = |name: &str| BUILT_IN.get_file(name).and_then(|file| file.contents_utf8()).unwrap_or_default();
        Prompts::from_texts(read(FILES[0]), read(FILES[1]), read(FILES[2]))
    }

    /// The prompts in `folder`, or the built-in ones without one.
    pub fn configured(folder: Option<&Path>) -> Result<Prompts, String> {
        folder.map_or_else(|| Ok(Prompts::built_in()), Prompts::load)
    }

    /// The prompts in `folder`, which must hold all three files.
    pub fn load(folder: &Path) -> Result<Prompts, String> {
        let read = |name: &str| {
            std::fs::read_to_string(folder.join(name))
                .map_err(|error| format!("could not read the prompt {}: {error}", folder.join(name).display()))
        };
        Ok(Prompts::from_texts(&read(FILES[0])?, &read(FILES[1])?, &read(FILES[2])?))
    }

    fn from_texts(concierge: &str, investigator: &str, policy: &str) -> Prompts {
        let mut hasher = Sha256::new();
        for (name, text) in FILES.iter().zip([concierge, investigator, policy]) {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        Prompts {
            concierge: concierge.to_owned(),
            investigator: investigator.to_owned(),
            policy: policy.to_owned(),
            hash: hex::encode(hasher.finalize()),
        }
    }

    /// The Concierge's whole system prompt: its instructions, then the policy.
    pub fn concierge_system(&self) -> String {
        format!("{}\n\n{}", self.concierge.trim(), self.policy.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_changes_with_any_file_and_a_folder_loads_like_the_built_in_set() {
        let built_in = Prompts::built_in();
        assert!(built_in.concierge.contains("Concierge") && built_in.investigator.contains("Investigator"));
        let folder = std::env::temp_dir().join(format!("prompts-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        for name in FILES {
            std::fs::write(folder.join(name), BUILT_IN.get_file(name).unwrap().contents()).unwrap();
        }
        assert_eq!(Prompts::load(&folder).unwrap().hash, built_in.hash);
        std::fs::write(folder.join("policy.md"), "changed").unwrap();
        assert_ne!(Prompts::load(&folder).unwrap().hash, built_in.hash);
        std::fs::remove_file(folder.join("policy.md")).unwrap();
        assert!(Prompts::load(&folder).unwrap_err().contains("policy.md"));
        std::fs::remove_dir_all(folder).unwrap();
    }
}
