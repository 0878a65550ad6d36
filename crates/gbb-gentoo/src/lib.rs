//! Gentoo's own inputs: the stage3 release index, DIGESTS files, and the `STAGE3_DATE` line
//! `gbb update` rewrites.
//!
//! Everything here works on text and files already on disk, so it is tested against recorded
//! file formats. Downloading from mirrors and checking OpenPGP signatures build on it.

mod cleartext;
mod digests;
mod openpgp;
mod releases;
mod update;

pub use cleartext::cleartext_body;
pub use digests::{Algorithm, Digests, DigestsError};
pub use openpgp::{Keyring, SignatureError};
pub use releases::{Release, ReleaseIndex, ReleaseIndexError};
pub use update::{UpdateError, set_stage3_date};
