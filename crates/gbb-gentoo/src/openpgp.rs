//! OpenPGP checks of Gentoo's release files, with rPGP (the `pgp` crate): no cryptography is
//! written here.
//!
//! A [`Keyring`] holds the keys a signature may come from: Gentoo's release keys, or those in
//! the file `GENTOO_KEYRING` names. Signatures are accepted from a key's primary key or any of
//! its subkeys (Gentoo signs with a subkey). Cleartext-signed files (the release index,
//! DIGESTS) give back the text that was signed, so that only signed text is ever read.

use std::io::Cursor;

use pgp::composed::{CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;

/// Why a signature was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("`{what}` has no OpenPGP signature")]
    Unsigned { what: String },
    #[error("`{what}` is not signed by any key of the keyring ({keys})")]
    UnknownKey { what: String, keys: String },
    #[error("the keyring could not be read: {message}")]
    BadKeyring { message: String },
    #[error("the signature of `{what}` could not be read: {message}")]
    BadSignature { what: String, message: String },
}

/// Public keys signatures are checked against.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// Reads armored public keys (one or several blocks).
    pub fn from_armor(text: &str) -> Result<Self, SignatureError> {
        let bad = |e: pgp::errors::Error| SignatureError::BadKeyring {
            message: e.to_string(),
        };
        let (keys, _) =
            SignedPublicKey::from_armor_many(Cursor::new(text.as_bytes())).map_err(bad)?;
        let keys = keys.collect::<Result<Vec<_>, _>>().map_err(bad)?;
        if keys.is_empty() {
            return Err(SignatureError::BadKeyring {
                message: "it holds no public key".to_owned(),
            });
        }
        Ok(Self { keys })
    }

    /// Reads public keys from armored text or from a binary keyring (Gentoo publishes both).
    /// Armored text may hold several blocks one after the other (files made by appending
    /// `gpg --export --armor` outputs); rPGP reads one block per call, so each is read.
    pub fn from_bytes(data: &[u8]) -> Result<Self, SignatureError> {
        const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
        let bad = |e: pgp::errors::Error| SignatureError::BadKeyring {
            message: e.to_string(),
        };
        let blocks: Vec<&[u8]> = match std::str::from_utf8(data) {
            Ok(text) if text.matches(BEGIN).count() > 1 => text
                .match_indices(BEGIN)
                .map(|(start, _)| {
                    let rest = &text[start + BEGIN.len()..];
                    let end = rest
                        .find(BEGIN)
                        .map_or(text.len(), |e| start + BEGIN.len() + e);
                    &text.as_bytes()[start..end]
                })
                .collect(),
            _ => vec![data],
        };
        let mut keys = Vec::new();
        for block in blocks {
            let (parsed, _) = SignedPublicKey::from_reader_many(Cursor::new(block)).map_err(bad)?;
            for key in parsed {
                keys.push(key.map_err(bad)?);
            }
        }
        if keys.is_empty() {
            return Err(SignatureError::BadKeyring {
                message: "it holds no public key".to_owned(),
            });
        }
        Ok(Self { keys })
    }

    /// The keys whose primary fingerprint is `fingerprint` (upper-case hex, no spaces), or
    /// `None` when there is none: other keys in the same file are dropped.
    pub fn only(&self, fingerprint: &str) -> Option<Self> {
        let keys: Vec<_> = self
            .keys
            .iter()
            .filter(|k| format!("{:X}", k.primary_key.fingerprint()) == fingerprint)
            .cloned()
            .collect();
        (!keys.is_empty()).then_some(Self { keys })
    }

    /// The keys armored, one block each, as `from_armor` reads them back.
    pub fn to_armor(&self) -> Result<String, SignatureError> {
        let mut text = String::new();
        for key in &self.keys {
            text.push_str(&key.to_armored_string(Default::default()).map_err(|e| {
                SignatureError::BadKeyring {
                    message: e.to_string(),
                }
            })?);
        }
        Ok(text)
    }

    /// A keyring with no key: every signature check fails. For `-s`, where none is made.
    pub fn empty() -> Self {
        Self { keys: Vec::new() }
    }

    /// The primary keys' fingerprints, upper-case hex.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| format!("{:X}", k.primary_key.fingerprint()))
            .collect()
    }

    fn describe(&self) -> String {
        self.fingerprints().join(", ")
    }

    /// Checks a cleartext-signed text (`what` names it in errors) and returns the signed text.
    pub fn verify_cleartext(&self, what: &str, text: &str) -> Result<String, SignatureError> {
        if !text.contains("-----BEGIN PGP SIGNED MESSAGE-----") {
            return Err(SignatureError::Unsigned {
                what: what.to_owned(),
            });
        }
        let (message, _) = CleartextSignedMessage::from_string(text).map_err(|e| {
            SignatureError::BadSignature {
                what: what.to_owned(),
                message: e.to_string(),
            }
        })?;
        let verified = self.keys.iter().any(|key| {
            message.verify(key).is_ok()
                || key
                    .public_subkeys
                    .iter()
                    .any(|sub| message.verify(sub).is_ok())
        });
        if !verified {
            return Err(SignatureError::UnknownKey {
                what: what.to_owned(),
                keys: self.describe(),
            });
        }
        // The text that was signed, with the signed line endings undone.
        Ok(message.signed_text().replace("\r\n", "\n"))
    }

    /// Checks a detached signature (`signature`, armored) over `data`.
    pub fn verify_detached(
        &self,
        what: &str,
        data: &[u8],
        signature: &str,
    ) -> Result<(), SignatureError> {
        let (signature, _) = DetachedSignature::from_armor_single(Cursor::new(
            signature.as_bytes(),
        ))
        .map_err(|e| SignatureError::BadSignature {
            what: what.to_owned(),
            message: e.to_string(),
        })?;
        let verified = self.keys.iter().any(|key| {
            signature.verify(key, data).is_ok()
                || key
                    .public_subkeys
                    .iter()
                    .any(|sub| signature.verify(sub, data).is_ok())
        });
        if verified {
            Ok(())
        } else {
            Err(SignatureError::UnknownKey {
                what: what.to_owned(),
                keys: self.describe(),
            })
        }
    }
}

/// Keys and signatures made on the spot, for tests of code that checks signatures (this crate's
/// and its users', through the `test-support` feature).
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use pgp::composed::{
        CleartextSignedMessage, DetachedSignature, EncryptionCaps, KeyType, SecretKeyParamsBuilder,
        SignedPublicKey, SignedSecretKey,
    };
    use pgp::crypto::hash::HashAlgorithm;
    use pgp::types::Password;
    use rand::thread_rng;

    /// A signing key made for a test, and its public half armored.
    pub fn test_key(uid: &str) -> (SignedSecretKey, String) {
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(uid.into())
            .build()
            .unwrap();
        let secret = params.generate(thread_rng()).unwrap();
        let public = SignedPublicKey::from(secret.clone());
        let armored = public.to_armored_string(Default::default()).unwrap();
        (secret, armored)
    }

    /// Armored public keys as one binary keyring (keys one after the other, as `gpg --export`
    /// writes them and as Gentoo publishes its service keys).
    pub fn binary_keyring(armored: &[&str]) -> Vec<u8> {
        use pgp::composed::Deserializable;
        use pgp::ser::Serialize;
        armored
            .iter()
            .flat_map(|text| {
                let (key, _) = SignedPublicKey::from_string(text).unwrap();
                key.to_bytes().unwrap()
            })
            .collect()
    }

    pub fn clearsign(key: &SignedSecretKey, text: &str) -> String {
        CleartextSignedMessage::sign(thread_rng(), text, &key.primary_key, &Password::empty())
            .unwrap()
            .to_armored_string(Default::default())
            .unwrap()
    }

    pub fn detached(key: &SignedSecretKey, data: &[u8]) -> String {
        DetachedSignature::sign_binary_data(
            thread_rng(),
            &key.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha512,
            data,
        )
        .unwrap()
        .to_armored_string(Default::default())
        .unwrap()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::testing::{clearsign, detached, test_key};
    use super::*;

    #[test]
    fn cleartext_from_a_known_key_only() {
        let (gentoo, gentoo_public) = test_key("Test Release <releng@example.org>");
        let (stranger, _) = test_key("Stranger <x@example.org>");
        let keyring = Keyring::from_armor(&gentoo_public).unwrap();
        let text = "# SHA512 HASH\nabc  stage3.tar.xz\n- dashed line\n";
        let signed = clearsign(&gentoo, text);
        assert_eq!(keyring.verify_cleartext("DIGESTS", &signed).unwrap(), text);

        let error = keyring
            .verify_cleartext("DIGESTS", &clearsign(&stranger, text))
            .unwrap_err();
        assert!(
            matches!(error, SignatureError::UnknownKey { .. }),
            "{error}"
        );
        let tampered = signed.replace("abc", "abd");
        assert!(matches!(
            keyring.verify_cleartext("DIGESTS", &tampered),
            Err(SignatureError::UnknownKey { .. })
        ));
        assert!(matches!(
            keyring.verify_cleartext("DIGESTS", text),
            Err(SignatureError::Unsigned { .. })
        ));
    }

    #[test]
    fn detached_signatures() {
        let (gentoo, gentoo_public) = test_key("Test Release <releng@example.org>");
        let keyring = Keyring::from_armor(&gentoo_public).unwrap();
        let data = b"a stage3 tarball";
        let signature = detached(&gentoo, data);
        keyring.verify_detached("stage3", data, &signature).unwrap();
        assert!(matches!(
            keyring.verify_detached("stage3", b"another tarball", &signature),
            Err(SignatureError::UnknownKey { .. })
        ));
        assert!(matches!(
            keyring.verify_detached("stage3", data, "garbage"),
            Err(SignatureError::BadSignature { .. })
        ));
        assert!(matches!(
            Keyring::from_armor("not a key"),
            Err(SignatureError::BadKeyring { .. })
        ));
    }
}
