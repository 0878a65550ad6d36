//! Properties that must hold for every input: reading a `pkgdb.tar` never panics (it comes from
//! a build container), and every `LICENSE` gbb accepts becomes an SPDX expression that SPDX's
//! own grammar (the `spdx` crate) parses.

use std::path::Path;

use gbb_sbom::{ImageRef, read_pkgdb};
use proptest::prelude::*;

fn image() -> ImageRef {
    ImageRef {
        id: "ns/x".to_owned(),
        tag: "t".to_owned(),
    }
}

/// A `pkgdb.tar` with one package whose record files hold the given texts.
fn pkgdb(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (field, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(
                &mut header,
                format!("pkg/app-misc/x-1.0/{field}"),
                text.as_bytes(),
            )
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// `LICENSE` texts made of the words that matter to the grammar, so random inputs reach the
/// groups and conditionals instead of failing at once.
fn licence_text() -> impl Strategy<Value = String> {
    let words = prop_oneof![
        Just("MIT"),
        Just("GPL-2+"),
        Just("LGPL-2.1"),
        Just("BSD"),
        Just("openssl"),
        Just("public-domain"),
        Just("Info-ZIP_custom"),
        Just("Foo+"),
        Just("||"),
        Just("("),
        Just(")"),
        Just("ssl?"),
        Just("!doc?"),
        Just("?"),
    ];
    prop::collection::vec(words, 0..24).prop_map(|words| words.join(" "))
}

proptest! {
    #[test]
    fn accepted_licences_are_spdx_expressions(
        licence in licence_text(),
        ssl in any::<bool>(),
        doc in any::<bool>(),
    ) {
        let use_flags = format!("{} {}", if ssl { "ssl" } else { "" }, if doc { "doc" } else { "" });
        let tar = pkgdb(&[("LICENSE", &licence), ("USE", &use_flags)]);
        let Ok(layer) = read_pkgdb(Path::new("pkgdb.tar"), tar.as_slice(), image()) else {
            return Ok(());
        };
        let spdx_licence = layer.packages[0].spdx_licence();
        if spdx_licence.expression != "NONE" {
            let parsed = spdx::Expression::parse(&spdx_licence.expression);
            prop_assert!(parsed.is_ok(), "{licence} → {}: {parsed:?}", spdx_licence.expression);
        }
        for (id, _) in &spdx_licence.refs {
            prop_assert!(id.starts_with("LicenseRef-Gentoo-"));
            prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
        }
    }

    #[test]
    fn any_record_text_reads_or_is_refused(
        contents in ".{0,200}",
        src_uri in licence_text(),
        slot in ".{0,10}",
        time in ".{0,12}",
    ) {
        let tar = pkgdb(&[
            ("CONTENTS", &contents),
            ("SRC_URI", &src_uri),
            ("SLOT", &slot),
            ("BUILD_TIME", &time),
        ]);
        let _ = read_pkgdb(Path::new("pkgdb.tar"), tar.as_slice(), image());
    }

    #[test]
    fn any_bytes_read_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_pkgdb(Path::new("pkgdb.tar"), bytes.as_slice(), image());
    }
}
