//! Gentoo's own inputs: the stage3 release index, DIGESTS files, and the `STAGE3_DATE` line
//! `gbb update` rewrites.
//!
//! Everything here works on text and files already on disk, so it is tested against recorded
//! file formats. Downloading from mirrors and checking OpenPGP signatures build on it.

mod cleartext;
mod digests;
mod download;
mod keyring;
mod openpgp;
mod portage;
mod releases;
mod stage3;
#[cfg(any(test, feature = "test-support"))]
pub mod test_mirror;
mod update;

pub use cleartext::cleartext_body;
pub use digests::{Algorithm, Digests, DigestsError};
pub use download::{DownloadError, Downloader, NoProgress, Progress, from_mirrors};
pub use keyring::{
    GENTOO_KEYS_URL, GENTOO_RELEASE_KEY, KEY_URL_VARIABLE, KeyOrigin, REFRESH_AFTER,
    ReleaseKeyError, ReleaseKeyRequest, cached_key_path, release_keyring,
};
#[cfg(any(test, feature = "test-support"))]
pub use openpgp::testing;
pub use openpgp::{Keyring, SignatureError};
pub use portage::{SnapshotError, SnapshotRequest, fetch_snapshot, newest_snapshot};
pub use releases::{Release, ReleaseIndex, ReleaseIndexError};
pub use stage3::{Stage3, Stage3Error, Stage3Request, fetch_stage3, resolve_release};
pub use update::{UpdateError, set_stage3_date};
