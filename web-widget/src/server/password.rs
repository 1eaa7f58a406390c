//! Password hashes: PBKDF2-HMAC-SHA256 with a random salt per account, stored as
//! `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>` so the work factor can rise later without
//! invalidating the hashes already stored.

use hmac::{Hmac, KeyInit, Mac};
use sha2::block_api::compress256;
use sha2::{Digest, Sha256};

const SCHEME: &str = "pbkdf2-sha256";
const HASH_LEN: usize = 32;

/// The hash to store for `password`, at `iterations` rounds.
pub fn hash(password: &str, iterations: u32) -> String {
    let salt: [u8; 16] = uuid::Uuid::new_v4().into_bytes();
    let derived = pbkdf2(password.as_bytes(), &salt, iterations);
    format!("{SCHEME}${iterations}${}${}", hex::encode(salt), hex::encode(derived))
}

/// Whether `password` matches `stored`; a malformed hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(iterations), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(iterations), Ok(salt), Ok(expected)) = (iterations.parse(), hex::decode(salt), hex::decode(expected))
    else {
        return false;
    };
    // The comparison takes the same time wherever the first difference is.
    let derived = pbkdf2(password.as_bytes(), &salt, iterations);
    expected.len() == HASH_LEN && derived.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// PBKDF2 (RFC 8018) with HMAC-SHA256, one output block. The rounds after the first hash one
/// 32-byte block under precomputed inner and outer key states, two compressions each, calling
/// the SHA-256 compression directly: fast even in a debug build.
fn pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> [u8; HASH_LEN] {
    let mut first = Hmac::<Sha256>::new_from_slice(password).expect("HMAC takes a key of any length");
    first.update(salt);
    first.update(&1u32.to_be_bytes());
    let mut block: [u8; HASH_LEN] = first.finalize().into_bytes().into();
    let mut output = block;
    let (inner, outer) = keyed_states(password);
    for _ in 1..iterations.max(1) {
        block = finish(outer, &finish(inner, &block));
        output.iter_mut().zip(&block).for_each(|(out, byte)| *out ^= byte);
    }
    output
}

/// SHA-256's initial state.
const IV: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// The states after HMAC's inner (`0x36`) and outer (`0x5c`) padded key blocks.
fn keyed_states(password: &[u8]) -> ([u32; 8], [u32; 8]) {
    let mut key = [0u8; 64];
    if password.len() > key.len() {
        key[..HASH_LEN].copy_from_slice(&Sha256::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let padded = |pad: u8| {
        let mut state = IV;
        compress256(&mut state, &[key.map(|byte| byte ^ pad)]);
        state
    };
    (padded(0x36), padded(0x5c))
}

/// The hash of a 64-byte prefix (already in `state`) followed by `message`.
fn finish(mut state: [u32; 8], message: &[u8; HASH_LEN]) -> [u8; HASH_LEN] {
    let mut block = [0u8; 64];
    block[..HASH_LEN].copy_from_slice(message);
    block[HASH_LEN] = 0x80;
    block[56..].copy_from_slice(&(((64 + HASH_LEN) * 8) as u64).to_be_bytes());
    compress256(&mut state, &[block]);
    let mut digest = [0u8; HASH_LEN];
    digest.chunks_exact_mut(4).zip(state).for_each(|(bytes, word)| bytes.copy_from_slice(&word.to_be_bytes()));
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_7914_test_vectors() {
        // RFC 7914 section 11 (the first 32 bytes), and a key longer than a block (which HMAC
        // hashes first), as Python's hashlib.pbkdf2_hmac computes them.
        let cases: [(&[u8], &[u8], u32, &str); 3] = [
            (b"passwd", b"salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"),
            (b"Password", b"NaCl", 80_000, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"),
            (&[b'x'; 100], b"salty", 3, "465606cd3d3e4b4f0d10cfd4cbb3bae89de7c44c4ec30b25cf7419f1648517cc"),
        ];
        for (password, salt, iterations, expected) in cases {
            assert_eq!(hex::encode(pbkdf2(password, salt, iterations)), expected, "{iterations} rounds");
        }
    }

    #[test]
    fn verifies_only_the_right_password() {
        let stored = hash("correct horse", 1000);
        assert!(verify("correct horse", &stored));
        assert!(!verify("correct horse ", &stored));
        assert!(!verify("correct horse", "md5$1$00$00"));
        assert_ne!(stored, hash("correct horse", 1000), "each hash has its own salt");
    }
}
