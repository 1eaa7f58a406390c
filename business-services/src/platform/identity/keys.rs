//! Keys that sign and check tokens: the local issuer's Ed25519 key ring, and JSON Web Key sets
//! (RFC 7517) as external issuers publish them.
//!
//! The ring lives in a folder of PKCS#8 files named `<created>-<kid>.p8` (readable by the
//! owner only). The newest key signs; every key still in the folder verifies, so rotating is:
//! add a key, let tokens signed by the old one expire, remove it. [`KeyRing::rotate`] does all
//! three, without a restart: a process that meets a key id it does not hold reloads the folder.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, Ed25519KeyPair, KeyPair, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::token::{self, Header};

/// The algorithm the ring signs tokens with.
pub const ALGORITHM: &str = "EdDSA";

/// How long after a newer key is made an older one may still have signed a live service token:
/// the longest token lifetime and the clock skew allowed, with a margin.
pub const RETIRE_AFTER_SECS: i64 = 600;

/// One public key of a set, as JWKS publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `OKP` (Ed25519), `RSA` or `EC` (P-256).
    pub kty: String,
    /// Its id, named by tokens' headers.
    #[serde(default)]
    pub kid: Option<String>,
    /// The curve: `Ed25519` or `P-256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The Ed25519 key, or the P-256 point's x, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The P-256 point's y, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The RSA exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A key set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The key named `kid`.
    pub fn key(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid.as_deref() == Some(kid))
    }
}

impl Jwk {
    /// Whether `signature` signs `message` with this key under `alg`; false for an algorithm
    /// the key's type does not support (an RSA key never checks an `EdDSA` token).
    pub fn verifies(&self, alg: &str, message: &[u8], signature: &[u8]) -> bool {
        let bytes = |part: &Option<String>| part.as_deref().and_then(|part| URL_SAFE_NO_PAD.decode(part).ok());
        match (alg, self.kty.as_str(), self.crv.as_deref()) {
            ("EdDSA", "OKP", Some("Ed25519")) => {
                bytes(&self.x).is_some_and(|x| UnparsedPublicKey::new(&ED25519, x).verify(message, signature).is_ok())
            }
            ("RS256", "RSA", _) => match (bytes(&self.n), bytes(&self.e)) {
                (Some(n), Some(e)) => {
                    RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
                }
                _ => false,
            },
            ("ES256", "EC", Some("P-256")) => match (bytes(&self.x), bytes(&self.y)) {
                (Some(x), Some(y)) => {
                    let point = [&[4u8][..], &x, &y].concat();
                    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
                }
                _ => false,
            },
            _ => false,
        }
    }
}

/// Why the key ring could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The folder or a file could not be read or written.
    #[error("signing keys in {path}: {source}; check that the data folder is writable by this user")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file is not an Ed25519 PKCS#8 key.
    #[error("signing key {0} is not an Ed25519 PKCS#8 key: remove it and rotate")]
    Corrupt(PathBuf),
    /// The system's random source failed.
    #[error("could not generate a signing key: the random source failed")]
    Random,
}

struct SigningKey {
    kid: String,
    created: i64,
    pair: Arc<Ed25519KeyPair>,
}

impl SigningKey {
    /// Its public half, as JWKS publishes it.
    fn public(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            kid: Some(self.kid.clone()),
            crv: Some("Ed25519".into()),
            x: Some(URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref())),
            y: None,
            n: None,
            e: None,
        }
    }
}

/// One key of the ring, signing.
pub struct Signer {
    /// Its id.
    pub kid: String,
    pair: Arc<Ed25519KeyPair>,
}

impl Signer {
    /// The signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

/// The local issuer's keys.
pub struct KeyRing {
    folder: Option<PathBuf>,
    /// Seconds after its successor is made that a key is retired.
    retire_after: i64,
    keys: RwLock<Vec<SigningKey>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.read().iter().map(|key| key.kid.clone()).collect();
        f.debug_struct("KeyRing").field("folder", &self.folder).field("kids", &kids).finish()
    }
}

impl KeyRing {
    /// A ring held in memory only, with one fresh key: for tests and one-process runs that
    /// keep no data folder.
    pub fn ephemeral() -> Result<KeyRing, KeyError> {
        let (pair, _) = generate()?;
        Ok(KeyRing { folder: None, retire_after: RETIRE_AFTER_SECS, keys: RwLock::new(vec![signing_key(pair, 0)]) })
    }

    /// The ring in `folder`, made with one key if it has none. A key is retired `retire_after`
    /// seconds after its successor is made: longer than any token it signs lives.
    pub fn open(folder: &Path, retire_after: i64, now: i64) -> Result<KeyRing, KeyError> {
        std::fs::create_dir_all(folder).map_err(|source| KeyError::Io { path: folder.to_owned(), source })?;
        let ring = KeyRing { folder: Some(folder.to_owned()), retire_after, keys: RwLock::new(Vec::new()) };
        ring.reload()?;
        if ring.read().is_empty() {
            ring.rotate(now)?;
        }
        Ok(ring)
    }

    /// Adds a key that signs from now on, and removes the keys no live token can carry.
    /// Returns the new key's id.
    pub fn rotate(&self, now: i64) -> Result<String, KeyError> {
        let (pair, pkcs8) = generate()?;
        let mut keys = self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Creation times order the ring: a key made in its predecessor's second is dated a
        // second later, so the newest always signs, whatever order the folder lists them in.
        let created = keys.last().map_or(now, |newest| now.max(newest.created + 1));
        let key = signing_key(pair, created);
        let kid = key.kid.clone();
        if let Some(folder) = &self.folder {
            write_private(&folder.join(format!("{created:012}-{kid}.p8")), &pkcs8)?;
        }
        keys.push(key);
        keys.sort_by_key(|key| key.created);
        // A key stops signing when its successor is made: once that is longer ago than any
        // token lives, nothing it signed is still valid.
        let successors: Vec<i64> = keys.iter().skip(1).map(|key| key.created).collect();
        let retired_count = successors.iter().take_while(|successor| now - **successor >= self.retire_after).count();
        let retired: Vec<SigningKey> = keys.drain(..retired_count).collect();
        drop(keys);
        if let Some(folder) = &self.folder {
            for key in retired {
                let path = folder.join(format!("{:012}-{}.p8", key.created, key.kid));
                match std::fs::remove_file(&path) {
                    // Another process of the store retired it first.
                    Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                        return Err(KeyError::Io { path, source });
                    }
                    _ => {}
                }
            }
        }
        Ok(kid)
    }

    /// Reads the folder again, for keys another process added or retired.
    pub fn reload(&self) -> Result<(), KeyError> {
        let Some(folder) = &self.folder else { return Ok(()) };
        let entries = std::fs::read_dir(folder).map_err(|source| KeyError::Io { path: folder.clone(), source })?;
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some((created, _)) = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".p8"))
                .and_then(|stem| stem.split_once('-'))
            else {
                continue;
            };
            let created = created.parse().map_err(|_| KeyError::Corrupt(path.clone()))?;
            let bytes = std::fs::read(&path).map_err(|source| KeyError::Io { path: path.clone(), source })?;
            let pair = Ed25519KeyPair::from_pkcs8(&bytes).map_err(|_| KeyError::Corrupt(path.clone()))?;
            keys.push(signing_key(pair, created));
        }
        keys.sort_by_key(|key| key.created);
        *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
        Ok(())
    }

    /// The newest key, which signs.
    pub fn signer(&self) -> Signer {
        let keys = self.read();
        let key = keys.last().unwrap_or_else(|| unreachable!("a ring always holds a key"));
        Signer { kid: key.kid.clone(), pair: key.pair.clone() }
    }

    /// A compact JWS of `claims` with header `typ`, signed by the newest key.
    pub fn sign_token(&self, typ: &str, claims: &impl Serialize) -> String {
        let signer = self.signer();
        let header = Header { alg: ALGORITHM.into(), kid: Some(signer.kid.clone()), typ: Some(typ.into()) };
        token::encode(&header, claims, |signed| signer.sign(signed))
    }

    /// The public keys, as a JWKS document.
    pub fn jwks(&self) -> Jwks {
        Jwks { keys: self.read().iter().map(SigningKey::public).collect() }
    }

    /// The public key named `kid`, reloading the folder once if it is not held.
    pub fn public_key(&self, kid: &str) -> Option<Jwk> {
        let find = || self.read().iter().find(|key| key.kid == kid).map(SigningKey::public);
        find().or_else(|| self.reload().ok().and_then(|()| find()))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<SigningKey>> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn generate() -> Result<(Ed25519KeyPair, Vec<u8>), KeyError> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Random)?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyError::Random)?;
    Ok((pair, pkcs8.as_ref().to_vec()))
}

/// A key's id: the first 16 hex digits of its public key's SHA-256.
fn signing_key(pair: Ed25519KeyPair, created: i64) -> SigningKey {
    let kid = hex::encode(&Sha256::digest(pair.public_key().as_ref())[..8]);
    SigningKey { kid, created, pair: Arc::new(pair) }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io = |source| KeyError::Io { path: path.to_owned(), source };
    options.open(path).map_err(io)?.write_all(bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified_by(ring: &KeyRing, kid: &str, message: &[u8], signature: &[u8]) -> bool {
        ring.public_key(kid).is_some_and(|key| key.verifies("EdDSA", message, signature))
    }

    #[test]
    fn the_newest_key_signs_and_older_keys_verify_until_retired() {
        let folder = tempfile::tempdir().unwrap();
        let ring = KeyRing::open(folder.path(), RETIRE_AFTER_SECS, 1_000).unwrap();
        let old = ring.signer();
        let old_signature = old.sign(b"before");
        let old = old.kid;
        let new = ring.rotate(1_100).unwrap();
        assert_eq!(ring.signer().kid, new);
        assert!(verified_by(&ring, &old, b"before", &old_signature), "an old key still verifies after rotation");
        assert!(!verified_by(&ring, &old, b"tampered", &old_signature));
        ring.rotate(1_100 + RETIRE_AFTER_SECS).unwrap();
        assert!(ring.public_key(&old).is_none(), "a key no live token can carry is removed");
        assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 2);
    }

    #[test]
    fn another_process_sees_a_rotation_when_it_meets_the_new_key() {
        let folder = tempfile::tempdir().unwrap();
        let signer = KeyRing::open(folder.path(), RETIRE_AFTER_SECS, 1_000).unwrap();
        let verifier = KeyRing::open(folder.path(), RETIRE_AFTER_SECS, 1_000).unwrap();
        let kid = signer.rotate(1_050).unwrap();
        let signing = signer.signer();
        let signature = signing.sign(b"hello");
        assert_eq!(signing.kid, kid);
        assert!(verified_by(&verifier, &kid, b"hello", &signature));
    }

    #[test]
    fn a_rotation_within_the_same_second_still_signs_with_the_new_key() {
        let folder = tempfile::tempdir().unwrap();
        let ring = KeyRing::open(folder.path(), RETIRE_AFTER_SECS, 1_000).unwrap();
        let new = ring.rotate(1_000).unwrap();
        assert_eq!(KeyRing::open(folder.path(), RETIRE_AFTER_SECS, 1_000).unwrap().signer().kid, new);
    }

    #[test]
    fn a_corrupt_key_file_is_named() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("000000000001-abc.p8"), b"not a key").unwrap();
        let error = KeyRing::open(folder.path(), RETIRE_AFTER_SECS, 1).unwrap_err();
        assert!(error.to_string().contains("000000000001-abc.p8"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        KeyRing::open(folder.path(), RETIRE_AFTER_SECS, 1).unwrap();
        for entry in std::fs::read_dir(folder.path()).unwrap() {
            assert_eq!(entry.unwrap().metadata().unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
