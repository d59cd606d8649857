//! Small files written durably next to the store's segments (the vote, the state
//! machine's snapshot): a temporary file, fsynced, renamed over the old one, and the
//! directory fsynced, with the core store's own code. The store deletes leftover `.tmp`
//! files when it opens.

use leasehold::driver::write_durably;
use std::fs;
use std::io;
use std::path::Path;

/// Replaces `dir/name` with `bytes` durably (see [`write_durably`]).
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    write_durably(dir, name, bytes)
        .map(|_| ())
        .map_err(io::Error::other)
}

/// The bytes of `dir/name`, or `None` when there is no such file.
pub(crate) fn read(dir: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    match fs::read(dir.join(name)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// An `InvalidData` error for bytes that do not decode, naming what they were.
pub(crate) fn invalid_data(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}
