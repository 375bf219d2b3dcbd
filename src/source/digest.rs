//! `sha256:HEX` digests, validated so they can name a file safely.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// A validated sha256 digest: `sha256:` followed by 64 lowercase hex digits.
/// Only this form is accepted, so [`Digest::blob_path`] can never leave
/// `blobs/sha256/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// Parses `sha256:HEX`; any other algorithm or encoding is an error.
    pub fn parse(input: &str) -> Result<Digest, String> {
        let shown = shorten(input);
        let Some((algorithm, hex)) = input.split_once(':') else {
            return Err(format!("invalid digest {shown:?}: expected ALGORITHM:HEX"));
        };
        if algorithm != "sha256" {
            return Err(format!(
                "unsupported digest algorithm {:?} in {shown:?}: only sha256 is supported",
                shorten(algorithm)
            ));
        }
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!(
                "invalid digest {shown:?}: sha256 needs 64 lowercase hex digits"
            ));
        }
        Ok(Digest {
            hex: hex.to_string(),
        })
    }

    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Where an OCI image layout keeps this blob: `blobs/sha256/HEX`.
    pub fn blob_path(&self) -> String {
        format!("blobs/sha256/{}", self.hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

/// Cuts a hostile string down to a length fit for an error message.
pub(crate) fn shorten(s: &str) -> &str {
    match s.char_indices().nth(100) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sha256_only() {
        let hex = "a".repeat(64);
        let d = Digest::parse(&format!("sha256:{hex}")).unwrap();
        assert_eq!(d.blob_path(), format!("blobs/sha256/{hex}"));
        assert_eq!(d.to_string(), format!("sha256:{hex}"));
        let err = Digest::parse(&format!("sha512:{}", "a".repeat(128))).unwrap_err();
        assert!(err.contains("only sha256"), "{err}");
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(63))).is_err());
        assert!(Digest::parse("sha256").is_err());
    }

    #[test]
    fn path_escaping_digest_is_rejected() {
        assert!(Digest::parse("sha256:../../etc/passwd").is_err());
        let sneaky = format!("sha256:{}/../../x", "a".repeat(54));
        assert!(Digest::parse(&sneaky).is_err());
    }

    #[test]
    fn digest_of_known_bytes() {
        // sha256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            Digest::of_bytes(b"abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
