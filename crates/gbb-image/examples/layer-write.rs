//! Writes the layer of a root tar into a store and prints its digests: the driver of
//! `benches/layer-write`, which times it against `tar | gzip`.
//!
//!     cargo run --release -p gbb-image --example layer-write -- ROOT.tar STORE [gzip|zstd|none] [EPOCH]

// A command-line driver: its output is the point.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use gbb_image::{BlobStore, Compression, LayerOptions, SourceDateEpoch, write_layer};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, store, rest @ ..] = args.as_slice() else {
        eprintln!("usage: layer-write ROOT.tar STORE [gzip|zstd|none] [EPOCH]");
        return ExitCode::from(2);
    };
    let compression = match rest.first().map(String::as_str) {
        None | Some("gzip") => Compression::Gzip,
        Some("zstd") => Compression::Zstd,
        Some("none") => Compression::None,
        Some(other) => {
            eprintln!("unknown compression `{other}`");
            return ExitCode::from(2);
        }
    };
    let epoch = match rest.get(1).map(|e| SourceDateEpoch::parse(e)) {
        None => SourceDateEpoch::DEFAULT,
        Some(Ok(epoch)) => epoch,
        Some(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = BlobStore::open(PathBuf::from(store)).and_then(|store| {
        write_layer(
            &store,
            &PathBuf::from(root),
            &LayerOptions { epoch, compression },
        )
    });
    match result {
        Ok(layer) => {
            println!(
                "{} {} bytes (diff_id sha256:{}, {} bytes, {} entries)",
                layer.descriptor.digest(),
                layer.descriptor.size(),
                layer.diff_id,
                layer.uncompressed_size,
                layer.entries
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("layer-write: {message}");
            ExitCode::FAILURE
        }
    }
}
