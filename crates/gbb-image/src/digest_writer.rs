//! A writer that hashes and counts what passes through it, so a layer's diff_id and its blob
//! digest are computed in the same pass that writes it (no second read of hundreds of MB).

use std::io::{self, Write};

use sha2::{Digest as _, Sha256};

/// Passes bytes on to `inner`, hashing (SHA-256) and counting exactly the bytes `inner`
/// accepted.
pub(crate) struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> DigestWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The inner writer, the lowercase hex SHA-256 and the byte count of what was written.
    pub(crate) fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            hex::encode(self.hasher.finalize()),
            self.written,
        )
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
