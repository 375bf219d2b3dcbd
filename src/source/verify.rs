//! A reader that checks a blob's sha256 and size as it streams.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

use super::digest::Digest;

/// Wraps a blob stream and hashes every byte that passes through. At the end
/// of the stream it compares the hash (and the size, when one is expected)
/// with what the descriptor promised; a difference is an `io::Error` of kind
/// `InvalidData` naming the digest, returned instead of end-of-file and again
/// on every later read. A stream longer than its expected size fails as soon
/// as the excess is seen.
///
/// Only a stream read to its end is verified: consumers must drain it.
pub struct VerifyingReader<R> {
    inner: R,
    digest: Digest,
    expected_size: Option<u64>,
    hasher: Option<Sha256>,
    count: u64,
    failure: Option<String>,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, digest: Digest, expected_size: Option<u64>) -> VerifyingReader<R> {
        VerifyingReader {
            inner,
            digest,
            expected_size,
            hasher: Some(Sha256::new()),
            count: 0,
            failure: None,
        }
    }

    fn fail(&mut self, message: String) -> io::Error {
        self.failure = Some(message.clone());
        io::Error::new(io::ErrorKind::InvalidData, message)
    }

    fn finish(&mut self, hasher: Sha256) -> io::Result<usize> {
        if let Some(size) = self.expected_size
            && self.count != size
        {
            return Err(self.fail(format!(
                "blob {} is truncated: {} bytes, expected {size}",
                self.digest, self.count
            )));
        }
        let actual = hex::encode(hasher.finalize());
        if actual != self.digest.hex() {
            return Err(self.fail(format!(
                "blob {} does not match its digest: sha256 of the bytes read is {actual}",
                self.digest
            )));
        }
        Ok(0)
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(message) = &self.failure {
            return Err(io::Error::new(io::ErrorKind::InvalidData, message.clone()));
        }
        if buf.is_empty() || self.hasher.is_none() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return match self.hasher.take() {
                Some(hasher) => self.finish(hasher),
                None => Ok(0),
            };
        }
        if let Some(hasher) = self.hasher.as_mut() {
            hasher.update(&buf[..n]);
        }
        self.count = self.count.saturating_add(n as u64);
        if let Some(size) = self.expected_size
            && self.count > size
        {
            return Err(self.fail(format!(
                "blob {} is longer than its declared size of {size} bytes",
                self.digest
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // sha256("abc"), FIPS 180-2 appendix B.1.
    const ABC: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn read_all(r: &mut impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn matching_stream_reads_through() {
        let d = Digest::parse(ABC).unwrap();
        let mut r = VerifyingReader::new(&b"abc"[..], d, Some(3));
        assert_eq!(read_all(&mut r).unwrap(), b"abc");
    }

    #[test]
    fn mismatch_is_reported_at_end_and_stays() {
        let d = Digest::parse(ABC).unwrap();
        let mut r = VerifyingReader::new(&b"abd"[..], d, Some(3));
        let mut buf = [0u8; 3];
        // The bytes are delivered; only the end of the stream fails.
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        let err = r.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains(ABC), "{err}");
        assert!(r.read(&mut buf).is_err(), "error must not turn into EOF");
    }

    #[test]
    fn size_differences_fail() {
        let d = Digest::parse(ABC).unwrap();
        let err = read_all(&mut VerifyingReader::new(&b"abc"[..], d.clone(), Some(4))).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = read_all(&mut VerifyingReader::new(&b"abc"[..], d, Some(2))).unwrap_err();
        assert!(err.to_string().contains("longer"), "{err}");
    }
}
