//! Writing new namespaces, images and builders (`gbb add`).
//!
//! Every new folder is first written whole under a temporary name next to its destination and
//! then renamed into place, so an interrupted `gbb add` leaves nothing half-written, and an
//! existing folder is never touched. The starter files are commented the way the seed's were:
//! they explain each setting where it is set.

use std::io;
use std::path::{Path, PathBuf};

use crate::{ImageId, Layout, Stack, validate_name};

/// Why a folder could not be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScaffoldError {
    #[error("`{}` already exists; gbb add never overwrites", path.display())]
    Exists { path: PathBuf },
    #[error(
        "namespace `{namespace}` does not exist in this stack; add it first: gbb add namespace {namespace}"
    )]
    NoNamespace { namespace: String },
    #[error(
        "`{}` is a single-namespace kubler stack; a second namespace needs a multi-namespace stack (a folder with kubler.conf and one folder per namespace)",
        root.display()
    )]
    SingleNamespace { root: PathBuf },
    #[error("{what} `{id}` does not exist in this stack")]
    UnknownReference { what: &'static str, id: String },
    #[error(transparent)]
    InvalidName(#[from] crate::InvalidName),
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// `gbb add namespace`.
#[derive(Clone, Debug)]
pub struct NamespaceSpec {
    pub name: String,
    pub author: String,
    pub email: String,
    pub engine: String,
}

/// `gbb add image`.
#[derive(Clone, Debug)]
pub struct ImageSpec {
    pub id: ImageId,
    /// An image id, or `None` for scratch.
    pub parent: Option<ImageId>,
    pub builder: Option<ImageId>,
}

/// `gbb add builder`.
#[derive(Clone, Debug)]
pub struct BuilderSpec {
    pub id: ImageId,
    /// The builder to extend; without it the builder starts from `stage3_base`.
    pub builder: Option<ImageId>,
    pub stage3_base: String,
}

/// What was created: the new folder and its files.
#[derive(Clone, Debug)]
pub struct Created {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ScaffoldError + '_ {
    move |source| ScaffoldError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `files` (relative path, content) into a new folder `dest`, atomically.
fn write_folder(dest: &Path, files: &[(&str, String)]) -> Result<Created, ScaffoldError> {
    if dest.exists() {
        return Err(ScaffoldError::Exists {
            path: dest.to_owned(),
        });
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = parent.join(format!(".{name}.gbb-new-{}", std::process::id()));
    let result = (|| {
        std::fs::create_dir(&temp).map_err(io_err(&temp))?;
        for (path, content) in files {
            let file = temp.join(path);
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            }
            std::fs::write(&file, content).map_err(io_err(&file))?;
        }
        if dest.exists() {
            return Err(ScaffoldError::Exists {
                path: dest.to_owned(),
            });
        }
        std::fs::rename(&temp, dest).map_err(io_err(dest))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e);
    }
    Ok(Created {
        dir: dest.to_owned(),
        files: files.iter().map(|(p, _)| dest.join(p)).collect(),
    })
}

/// Quotes a value for a config file so that it reads back unchanged.
pub fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '$' | '`' | '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn namespace_conf(spec: &NamespaceSpec) -> String {
    let author = if spec.email.is_empty() {
        spec.author.clone()
    } else {
        format!("{} <{}>", spec.author, spec.email)
    };
    format!(
        "# Namespace `{name}`: settings shared by every image and builder in it.\n\
         # Images and builders override them in their own build.conf.\n\n\
         # Goes into every image's maintainer label.\n\
         AUTHOR={author}\n\n\
         # The builder that images on scratch without a BUILDER of their own are built in.\n\
         # Create it with: gbb add builder {name}/bob\n\
         DEFAULT_BUILDER=\"${{NAMESPACE}}/bob\"\n\n\
         # The engine that runs build containers and builds images: docker or podman.\n\
         CONTAINER_ENGINE={engine}\n\n\
         # Tag for every image of the namespace (also tagged `latest`); IMAGE_TAG=... gbb build\n\
         # overrides it.\n\
         #IMAGE_TAG=\"${{IMAGE_TAG:-20260101}}\"\n",
        name = spec.name,
        author = quote(&author),
        engine = quote(&spec.engine),
    )
}

const GLOBAL_CONF: &str = "# Global settings of this gentoo-bb stack, read before each namespace's build.conf.\n\
# Values may use ${VAR:-default}, so the environment can override them: IMAGE_TAG=x gbb build.\n\n\
# Gentoo mirror(s) for stage3 and portage snapshot downloads, tried in order.\n\
#MIRROR=\"https://distfiles.gentoo.org/\"\n\
#ARCH=\"amd64\"\n\n\
# Instead of downloading: a local stage3 tarball and a local portage tree.\n\
#STAGE3_FILE=\"/path/to/stage3-amd64-openrc.tar.xz\"\n\
#PORTAGE_DIR=\"/var/db/repos/gentoo\"\n\n\
# Every BOB_* variable is passed into build containers and Dockerfile templates.\n\
#BOB_CFLAGS=\"-O2 -pipe\"\n\
#BOB_MAKEOPTS=\"-j4\"\n\
#BOB_TIMEZONE=\"UTC\"\n";

impl Stack {
    /// Where the folder of namespace `name` goes in this stack's layout.
    fn namespace_dir(&self, name: &str) -> Result<PathBuf, ScaffoldError> {
        match self.layout {
            Layout::Seed => Ok(self.root.join("dock").join(name)),
            Layout::KublerMulti => Ok(self.root.join(name)),
            Layout::KublerSingle => Err(ScaffoldError::SingleNamespace {
                root: self.root.clone(),
            }),
        }
    }
}

/// Adds a namespace to `stack`, or, when `stack` is `None`, creates a new seed-layout stack
/// in `dir` with this one namespace.
pub fn add_namespace(
    stack: Option<&Stack>,
    dir: &Path,
    spec: &NamespaceSpec,
) -> Result<Created, ScaffoldError> {
    validate_name(&spec.name)?;
    let conf = namespace_conf(spec);
    match stack {
        Some(stack) => {
            let ns_dir = stack.namespace_dir(&spec.name)?;
            let file = if stack.layout == Layout::Seed {
                "build.conf"
            } else {
                "kubler.conf"
            };
            write_folder(
                &ns_dir,
                &[
                    (file, conf),
                    ("images/.keep", String::new()),
                    ("builder/.keep", String::new()),
                ],
            )
        }
        None => {
            let global = dir.join("build.conf");
            if global.exists() {
                return Err(ScaffoldError::Exists { path: global });
            }
            let created = write_folder(
                &dir.join("dock").join(&spec.name),
                &[
                    ("build.conf", conf),
                    ("images/.keep", String::new()),
                    ("builder/.keep", String::new()),
                ],
            )?;
            // The global file last: until it exists, `dir` is not a stack, so an interrupted
            // run leaves no half-made stack behind.
            let temp = dir.join(format!(".build.conf.gbb-new-{}", std::process::id()));
            std::fs::write(&temp, GLOBAL_CONF).map_err(io_err(&temp))?;
            std::fs::rename(&temp, &global).map_err(io_err(&global))?;
            let mut created = created;
            created.files.insert(0, global);
            Ok(created)
        }
    }
}

fn definition_dir(stack: &Stack, id: &ImageId, folder: &str) -> Result<PathBuf, ScaffoldError> {
    let namespace = stack
        .namespace(id.namespace())
        .ok_or_else(|| ScaffoldError::NoNamespace {
            namespace: id.namespace().to_owned(),
        })?;
    Ok(namespace.dir.join(folder).join(id.name()))
}

fn check_exists(
    stack: &Stack,
    id: &ImageId,
    what: &'static str,
    builder: bool,
) -> Result<(), ScaffoldError> {
    match stack.get(id) {
        Some(d) if d.is_image() != builder => Ok(()),
        _ => Err(ScaffoldError::UnknownReference {
            what,
            id: id.to_string(),
        }),
    }
}

/// Adds an image folder.
pub fn add_image(stack: &Stack, spec: &ImageSpec) -> Result<Created, ScaffoldError> {
    let dir = definition_dir(stack, &spec.id, "images")?;
    if let Some(parent) = &spec.parent {
        check_exists(stack, parent, "parent image", false)?;
    }
    if let Some(builder) = &spec.builder {
        check_exists(stack, builder, "builder", true)?;
    }
    let id = &spec.id;
    let parent = spec
        .parent
        .as_ref()
        .map_or("scratch".to_owned(), ToString::to_string);
    let builder_line = match &spec.builder {
        Some(b) => format!("BUILDER={}", quote(b.as_str())),
        None => "#BUILDER=\"${NAMESPACE}/bob\"".to_owned(),
    };
    let conf = format!(
        "# Image `{id}`.\n\n\
         # The image this one is built on: an image id of this stack, or scratch.\n\
         IMAGE_PARENT={parent}\n\n\
         # The builder to build in. Without it, an image with a parent builds in the parent's\n\
         # kept builder state (so it knows what the parent installed), and an image on scratch\n\
         # in the namespace's DEFAULT_BUILDER.\n\
         {builder_line}\n\n\
         # Wait for the image's HEALTHCHECK to pass after the build.\n\
         #POST_BUILD_HC=true\n",
        parent = quote(&parent),
    );
    let script = format!(
        "#\n# Build script of `{id}`, sourced inside the build container.\n#\n\n\
         # Packages to install into the image (Portage atoms, separated by blanks).\n\
         _packages=\"\"\n\n\
         # Runs before the packages are emerged into the empty root ${{_EMERGE_ROOT}}.\n\
         # Helpers: update_use, update_keywords, mask_package, unmask_package, provide_package,\n\
         # add_overlay, add_patch, download_file, ...\n\
         configure_rootfs_build()\n{{\n    :\n}}\n\n\
         # Runs after the emerge, before cleanup and the tar of ${{_EMERGE_ROOT}}.\n\
         finish_rootfs_build()\n{{\n    :\n}}\n"
    );
    let template = "FROM ${IMAGE_PARENT}\nLABEL maintainer=\"${MAINTAINER}\"\n\nADD rootfs.tar /\n\n#CMD [\"/bin/sh\"]\n".to_owned();
    let readme = format!("# {id}\n\nWhat this image is for, and how to run it.\n");
    write_folder(
        &dir,
        &[
            ("build.conf", conf),
            ("build.sh", script),
            ("Dockerfile.template", template),
            ("README.md", readme),
        ],
    )
}

/// Adds a builder folder.
pub fn add_builder(stack: &Stack, spec: &BuilderSpec) -> Result<Created, ScaffoldError> {
    let dir = definition_dir(stack, &spec.id, "builder")?;
    if let Some(builder) = &spec.builder {
        check_exists(stack, builder, "builder", true)?;
    }
    let id = &spec.id;
    let base = match &spec.builder {
        Some(builder) => format!(
            "# Extend another builder...\nBUILDER={}\n\n\
             # ...or start from a Gentoo stage3 (this wins over BUILDER when set).\n\
             #STAGE3_BASE={}\n#STAGE3_DATE=\"\"\n",
            quote(builder.as_str()),
            quote(&spec.stage3_base)
        ),
        None => format!(
            "# Extend another builder...\n#BUILDER=\"${{NAMESPACE}}/bob\"\n\n\
             # ...or start from a Gentoo stage3 (this wins over BUILDER when set). Without\n\
             # STAGE3_DATE the newest release is used; `gbb update` pins it.\n\
             STAGE3_BASE={}\n#STAGE3_DATE=\"\"\n\
             # A local stage3 tarball instead of a download:\n#STAGE3_FILE=\"\"\n",
            quote(&spec.stage3_base)
        ),
    };
    let conf = format!(
        "# Builder `{id}`: a build container images are built in.\n\n{base}\n\
         # Run the build container with `--cap-add SYS_PTRACE` (some packages need it).\n\
         #BUILDER_CAPS_SYS_PTRACE=true\n\n\
         # Host folders mounted into the build container (docker -v syntax).\n\
         #BUILDER_MOUNTS=( \"/host/path:/container/path:ro\" )\n"
    );
    let script = format!(
        "#\n# Build script of builder `{id}`, sourced inside the build container.\n#\n\n\
         # Changes to the build container itself: packages every image built here needs at\n\
         # build time, USE flags, overlays. Images built in this builder inherit them.\n\
         configure_builder()\n{{\n    :\n}}\n"
    );
    let template = "FROM ${IMAGE_PARENT}\nLABEL maintainer=\"${MAINTAINER}\"\n".to_owned();
    write_folder(
        &dir,
        &[
            ("build.conf", conf),
            ("build.sh", script),
            ("Dockerfile.template", template),
        ],
    )
}
