//! Engines on another machine: `DOCKER_HOST=tcp://host:port`, with TLS when
//! `DOCKER_TLS_VERIFY` is set (the client key and certificate and the CA that signed the
//! engine's certificate in `DOCKER_CERT_PATH`: `key.pem`, `cert.pem`, `ca.pem`, as the
//! `docker` command reads them), and Podman's `CONTAINER_HOST=tcp://...`.
//!
//! A remote engine cannot bind-mount the client's folders: they are not on its machine. So
//! for an engine reached other than through a local Unix socket, every mount of a
//! [`crate::ContainerSpec`] becomes an anonymous volume of the container, filled before the
//! container starts through the archive API (`PUT /containers/{id}/archive`, which writes
//! into a created container's volumes), and the writable ones are copied back into their
//! host folders once it ended (`GET /containers/{id}/archive`). Volumes rather than copies
//! into the container's own file system, because `commit` leaves volumes out: a kept builder
//! state never holds the image folder, the binary packages or the portage tree. The volumes
//! go with the container (`docker rm -v`). What this costs: each build container ships its
//! folders both ways (the binary package cache and distfiles too), and a read-only mount is
//! writable inside (an upload cannot write into a read-only volume); a mount of a single file
//! is copied into the container's file system instead, as a volume is always a folder.
//!
//! `ssh://` hosts (`ssh.rs`) are remote too: the client talks to a local socket that ssh
//! forwards, but the engine and its file system are on the other machine, so their mounts
//! are shipped the same way.

use std::path::{Path, PathBuf};

use crate::{EngineError, Mount};

/// How to reach a Docker engine: the process environment's values, which the caller passes
/// in (a library reads no environment).
#[derive(Clone, Debug, Default)]
pub struct DockerPlaces {
    /// `DOCKER_HOST`; the local socket when unset.
    pub host: Option<String>,
    /// `DOCKER_TLS_VERIFY` is set (to anything but an empty value).
    pub tls_verify: bool,
    /// `DOCKER_CERT_PATH`; `~/.docker` when unset (`home` is `HOME`).
    pub cert_path: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

/// The client's TLS files for an engine that verifies them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    pub(crate) key: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) ca: PathBuf,
}

impl DockerPlaces {
    /// The TLS files to use, `None` without `DOCKER_TLS_VERIFY`.
    pub(crate) fn tls(&self) -> Option<TlsFiles> {
        if !self.tls_verify {
            return None;
        }
        let dir = self.cert_path.clone().unwrap_or_else(|| {
            self.home
                .clone()
                .unwrap_or_else(|| PathBuf::from("/root"))
                .join(".docker")
        });
        Some(TlsFiles {
            key: dir.join("key.pem"),
            cert: dir.join("cert.pem"),
            ca: dir.join("ca.pem"),
        })
    }
}

/// Whether `host` is an engine that cannot see the client's files: anything but a Unix
/// socket (`tcp://`, `ssh://`; an engine behind ssh is marked remote when connected, as the
/// client then talks to a local socket).
pub(crate) fn is_remote(host: &str) -> bool {
    !host.starts_with("unix://")
}

/// A mount shipped to a remote engine: where it goes, and whether its content comes back.
#[derive(Clone, Debug)]
pub(crate) struct Shipped {
    pub(crate) mount: Mount,
    /// A folder (shipped in a volume) or a single file (copied into the container).
    pub(crate) folder: bool,
}

/// The container's mounts as a remote engine takes them: anonymous volumes at the folders'
/// targets, nothing for single files (they are copied in).
pub(crate) fn volumes(
    mounts: &[Mount],
) -> Result<(Vec<bollard::models::Mount>, Vec<Shipped>), EngineError> {
    let mut volumes = Vec::new();
    let mut shipped = Vec::new();
    for mount in mounts {
        let meta = std::fs::metadata(&mount.source).map_err(|source| EngineError::Io {
            path: mount.source.clone(),
            source,
        })?;
        if meta.is_dir() {
            volumes.push(bollard::models::Mount {
                target: Some(mount.target.clone()),
                typ: Some(bollard::models::MountType::VOLUME),
                ..Default::default()
            });
        }
        shipped.push(Shipped {
            mount: mount.clone(),
            folder: meta.is_dir(),
        });
    }
    Ok((volumes, shipped))
}

/// A tar of `shipped`'s host source, to extract at [`upload_path`]: a folder's content (its
/// entries relative to it; links kept as links), or the one file under its target's name.
pub(crate) fn pack(shipped: &Shipped, into: &Path) -> Result<(), EngineError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| EngineError::Io { path, source }
    };
    let file = std::fs::File::create(into).map_err(io(into))?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    builder.follow_symlinks(false);
    let source = &shipped.mount.source;
    if shipped.folder {
        builder.append_dir_all(".", source).map_err(io(source))?;
    } else {
        let name = Path::new(&shipped.mount.target)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("file"));
        builder
            .append_path_with_name(source, name)
            .map_err(io(source))?;
    }
    builder
        .into_inner()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .map_err(io(into))
}

/// Where [`pack`]'s tar is extracted in the container: the folder itself, or a file's
/// folder.
pub(crate) fn upload_path(shipped: &Shipped) -> String {
    if shipped.folder {
        shipped.mount.target.clone()
    } else {
        Path::new(&shipped.mount.target)
            .parent()
            .map_or_else(|| "/".to_owned(), |p| p.display().to_string())
    }
}

/// Extracts `archive` (the engine's tar of a folder: its entries under the folder's own
/// name) into the host folder `dest`, replacing nothing outside it: the tar is unpacked into
/// a fresh folder inside `dest` by the `tar` crate (which refuses entries that leave it,
/// also through links), then its entries are moved up.
pub(crate) fn unpack_folder(archive: &Path, dest: &Path) -> Result<(), EngineError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| EngineError::Io { path, source }
    };
    let staging = tempfile::Builder::new()
        .prefix(".gbb-shipped-")
        .tempdir_in(dest)
        .map_err(io(dest))?;
    let file = std::fs::File::open(archive).map_err(io(archive))?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    tar.set_preserve_permissions(true);
    tar.unpack(staging.path()).map_err(io(archive))?;
    // One folder: the archive's top entry, named as the folder in the container.
    let top = std::fs::read_dir(staging.path())
        .map_err(io(staging.path()))?
        .flatten()
        .find(|e| e.file_type().is_ok_and(|t| t.is_dir()));
    let Some(top) = top else {
        return Ok(());
    };
    for entry in std::fs::read_dir(top.path())
        .map_err(io(&top.path()))?
        .flatten()
    {
        let target = dest.join(entry.file_name());
        if let Ok(meta) = std::fs::symlink_metadata(&target) {
            if meta.is_dir() {
                std::fs::remove_dir_all(&target).map_err(io(&target))?;
            } else {
                std::fs::remove_file(&target).map_err(io(&target))?;
            }
        }
        std::fs::rename(entry.path(), &target).map_err(io(&target))?;
    }
    Ok(())
}

impl crate::Docker {
    /// Fills a created container's volumes (and copies single files in) from the host.
    pub(crate) fn ship_in(&self, id: &str, shipped: &[Shipped]) -> Result<(), EngineError> {
        for one in shipped {
            let tar = tempfile::NamedTempFile::new().map_err(|source| EngineError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
            pack(one, tar.path())?;
            let operation = format!(
                "copying `{}` into container `{id}` at `{}`",
                one.mount.source.display(),
                one.mount.target
            );
            self.runtime.block_on(async {
                let file =
                    tokio::fs::File::open(tar.path())
                        .await
                        .map_err(|source| EngineError::Io {
                            path: tar.path().to_owned(),
                            source,
                        })?;
                let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(file));
                self.client
                    .upload_to_container(
                        id,
                        Some(bollard::query_parameters::UploadToContainerOptions {
                            path: upload_path(one),
                            ..Default::default()
                        }),
                        body,
                    )
                    .await
                    .map_err(|e| EngineError::Api {
                        operation,
                        message: e.to_string(),
                    })
            })?;
        }
        Ok(())
    }

    /// Copies the writable folders of an ended container back into their host folders.
    pub(crate) fn ship_back(&self, id: &str) -> Result<(), EngineError> {
        let shipped = lock(&self.shipped).get(id).cloned().unwrap_or_default();
        for one in shipped.iter().filter(|s| s.folder && !s.mount.read_only) {
            let operation = format!(
                "copying `{}` out of container `{id}` into `{}`",
                one.mount.target,
                one.mount.source.display()
            );
            let tar = tempfile::NamedTempFile::new().map_err(|source| EngineError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
            self.runtime.block_on(async {
                use futures_util::StreamExt;
                use tokio::io::AsyncWriteExt;
                let mut file = tokio::fs::File::create(tar.path())
                    .await
                    .map_err(|source| EngineError::Io {
                        path: tar.path().to_owned(),
                        source,
                    })?;
                let mut stream = self.client.download_from_container(
                    id,
                    Some(bollard::query_parameters::DownloadFromContainerOptions {
                        path: one.mount.target.clone(),
                    }),
                );
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| EngineError::Api {
                        operation: operation.clone(),
                        message: e.to_string(),
                    })?;
                    file.write_all(&chunk)
                        .await
                        .map_err(|source| EngineError::Io {
                            path: tar.path().to_owned(),
                            source,
                        })?;
                }
                file.flush().await.map_err(|source| EngineError::Io {
                    path: tar.path().to_owned(),
                    source,
                })
            })?;
            unpack_folder(tar.path(), &one.mount.source)?;
        }
        Ok(())
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_files_come_from_docker_cert_path_or_home() {
        let places = DockerPlaces {
            host: Some("tcp://127.0.0.1:2376".to_owned()),
            tls_verify: true,
            cert_path: Some(PathBuf::from("/certs")),
            home: None,
        };
        assert_eq!(
            places.tls(),
            Some(TlsFiles {
                key: "/certs/key.pem".into(),
                cert: "/certs/cert.pem".into(),
                ca: "/certs/ca.pem".into()
            })
        );
        let home = DockerPlaces {
            cert_path: None,
            home: Some("/home/u".into()),
            ..places.clone()
        };
        assert_eq!(
            home.tls().unwrap().ca,
            PathBuf::from("/home/u/.docker/ca.pem")
        );
        let plain = DockerPlaces {
            tls_verify: false,
            ..places
        };
        assert_eq!(plain.tls(), None);
        assert!(is_remote("tcp://127.0.0.1:2376"));
        assert!(is_remote("ssh://build@host"));
        assert!(!is_remote("unix:///run/docker.sock"));
    }

    #[test]
    fn folders_go_out_and_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("out");
        std::fs::create_dir_all(source.join("sub")).unwrap();
        std::fs::write(source.join("sub/a"), "a").unwrap();
        std::os::unix::fs::symlink("/etc/shadow", source.join("link")).unwrap();
        let shipped = Shipped {
            mount: Mount {
                source: source.clone(),
                target: "/gbb-out".to_owned(),
                read_only: false,
            },
            folder: true,
        };
        let tar = dir.path().join("out.tar");
        pack(&shipped, &tar).unwrap();
        assert_eq!(upload_path(&shipped), "/gbb-out");
        // The engine answers with the folder under its own name.
        let answer = dir.path().join("answer.tar");
        let mut builder = tar::Builder::new(std::fs::File::create(&answer).unwrap());
        builder.follow_symlinks(false);
        builder.append_dir_all("gbb-out", &source).unwrap();
        builder.finish().unwrap();
        let back = dir.path().join("back");
        std::fs::create_dir(&back).unwrap();
        unpack_folder(&answer, &back).unwrap();
        assert_eq!(std::fs::read_to_string(back.join("sub/a")).unwrap(), "a");
        // A link comes back as a link, never followed.
        assert!(
            std::fs::symlink_metadata(back.join("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_dir(&back).unwrap().count(),
            2,
            "no staging folder left"
        );
    }
}
