//! The command-line interface, declared with clap. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

/// Build minimal container images from Gentoo packages.
///
/// gbb reads a stack of image definitions (a gentoo-bb `build.conf` + `dock/` folder, or a
/// kubler `kubler.conf` folder), plans what to build in which order, and builds it.
#[derive(Debug, Parser)]
#[command(name = "gbb", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Examples:
  gbb plan                     every step the whole stack needs
  gbb plan gentoobb/nginx      nginx and what it is built on
  gbb plan --json gentoobb     all images of the namespace, as JSON
  gbb check                    lint every build.sh and template before a long build
  gbb graph --format dot | dot -Tsvg > stack.svg
  gbb add image gentoobb/redis --parent gentoobb/glibc")]
pub(crate) struct Args {
    /// The stack folder (default: the current folder, or the nearest one above it that is a
    /// stack).
    #[arg(short = 'w', long = "working-dir", global = true, value_name = "DIR")]
    pub(crate) working_dir: Option<PathBuf>,

    /// Print more: timings and the steps gbb takes.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,

    /// Build on this engine, whatever CONTAINER_ENGINE the namespaces name (namespaces on
    /// `dummy` stay dry runs). Given before the command: `gbb --engine podman build`.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub(crate) engine: Option<EngineChoice>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `--engine`: the engines that build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum EngineChoice {
    Docker,
    Podman,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show what would be built, in which order, and why.
    #[command(after_help = "Examples:
  gbb plan                      the whole stack
  gbb plan gentoobb/nginx       nginx, its parents and their builders
  gbb plan -n gentoobb/nginx    nginx only; parents and builders are taken as built
  gbb plan gentoobb -e gentoobb/jre --json")]
    Plan(PlanArgs),

    /// Build images: cores, builders and images, parents first; what is up to date is skipped.
    #[command(after_help = "Examples:
  gbb build                        everything that changed
  gbb build example/greet          greet, and what it is built on when that changed
  gbb build -F example             all images of a namespace again, phase 1 included
  gbb build -n example/greet       greet only, on the parents already built
  gbb build -j 4 --fail-fast       four steps at once; stop starting new ones after a failure
  gbb build -i example/greet       greet's parents, then bash where greet's phase 1 runs

A step is up to date when its images carry the content key it would get: the hash of its
folder, its resolved config, and the keys of what it is built on and in.")]
    Build(BuildArgs),

    /// Check the stack without building: build.sh syntax (bash -n), commands that are no
    /// helper, builtin or stage3 command, kubler features gbb treats differently, templates.
    #[command(after_help = "Examples:
  gbb check                    every image and builder
  gbb check example/greet      one image
  gbb check example            all images and builders of a namespace

Errors (exit 1): a bash syntax error, a misspelt helper, an unsupported kubler helper, a
missing Dockerfile.template or `ADD rootfs.tar /`, an unknown parent or builder.
Warnings: a command a stage3 does not have (fine when the builder installs it), a kubler
setting gbb ignores, a `${VAR}` in a template that gbb does not fill in.")]
    Check(CheckArgs),

    /// Show the dependency graph of the stack (or of the given ids).
    #[command(
        visible_alias = "dep-graph",
        after_help = "Examples:
  gbb graph                               trees, from scratch and from each core
  gbb graph --format dot | dot -Tsvg > stack.svg
  gbb graph gentoobb/nginx --format mermaid"
    )]
    Graph(GraphArgs),

    /// Push images to a registry, through the engine (layers the registry has are not sent).
    #[command(after_help = "Examples:
  gbb push example/greet --registry registry.example.org:5000
  gbb push example --registry 127.0.0.1:5000     every image of a namespace

Each image goes up as <registry>/<ns>/<name> with its IMAGE_TAG and `latest`.")]
    Push(PushArgs),

    /// Find newer stage3 releases for the builders that start from one, and pin them in their
    /// build.conf (STAGE3_DATE), changing nothing else in the file.
    #[command(after_help = "Examples:
  gbb update            report, then rewrite STAGE3_DATE where a newer stage3 exists
  gbb update --check    report only; exit 1 when something is newer (for CI)")]
    Update(UpdateArgs),

    /// Remove what builds left in the stack: phase 1 outputs, logs and the images' blobs in
    /// .gbb/images; with --images, the stack's images and kept builder states too; with
    /// --dangling, its old states.
    #[command(after_help = "Examples:
  gbb clean                    .gbb/build and .gbb/logs of the stack
  gbb clean example/greet      only example/greet's outputs and logs
  gbb clean --images           and every image and builder state of the stack
  gbb clean --images example/greet
  gbb clean --dangling         old states and images no name points at any more

Only what this stack made goes: an image of the same name that another stack built is left
alone. Shared cores and stage3 imports stay (a stack's own, made by -C, go with --images).
Containers of gbb runs that were killed are removed first.")]
    Clean(CleanArgs),

    /// Open bash in the build container of an image or builder, with the helpers loaded.
    #[command(after_help = "Example:
  gbb shell example/greet      bash where greet's phase 1 runs: in the kept state of greetlib

The container has the same mounts and environment as a build (/config, /packages, /distfiles,
the portage tree, every BOB_* variable), the helpers (update_use, provide_package, ...) and
the image's build.sh loaded. It is removed when the shell exits.")]
    Shell {
        /// The image or builder id.
        id: String,
    },

    /// Print the SBOM of a built image: SPDX 2.3 or CycloneDX 1.5 JSON, as its build kept it.
    #[command(after_help = "Examples:
  gbb sbom example/greet                       SPDX 2.3 JSON
  gbb sbom example/greet --format cyclonedx    CycloneDX 1.5 JSON

The documents are made from Portage's database of what the image and its ancestors installed,
when the image is built, and kept in .gbb/build/<ns>/<name>/ (sbom.spdx.json, sbom.cdx.json);
this prints the kept file. An image that is not built has none (exit 2).")]
    Sbom(SbomArgs),

    /// Build images again from binary packages in a scratch place and compare their digests.
    #[command(after_help = "Examples:
  gbb verify                   every image of the stack
  gbb verify example/greet     one image (its parents are taken as they were kept)

Each image's phase 1 runs again in a scratch folder (.gbb/verify) in the build container a
build would use, with the same binary package cache; phase 2 writes it into a scratch store.
Its manifest digest is compared with the one its last build kept: `same`, or `different` with
the first file or config field that differs. No tag moves and nothing kept changes. Exit 1 when
any image differs, was not built, or changed since it was built.")]
    Verify(VerifyArgs),

    /// Add a namespace, an image or a builder, with commented starter files.
    #[command(visible_alias = "new", subcommand)]
    Add(AddCommand),

    /// Print a shell completion script.
    #[command(after_help = "Example:\n  gbb completions bash > /etc/bash_completion.d/gbb")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The ids a command works on, and how to widen or narrow them.
#[derive(Debug, ClapArgs)]
pub(crate) struct Selection {
    /// Image or builder ids (`ns/name`) or namespaces (`ns`, all its images). None: everything.
    #[arg(value_name = "ID")]
    pub(crate) ids: Vec<String>,

    /// Only the ids given: their parents and builders are taken as already built.
    #[arg(short = 'n', long = "no-deps")]
    pub(crate) only_given: bool,

    /// Leave out this id or namespace (repeatable).
    #[arg(short = 'e', long = "exclude", value_name = "ID")]
    pub(crate) exclude: Vec<String>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,

    /// Do not wait for another gbb run on this stack to finish: fail at once.
    #[arg(long)]
    pub(crate) no_wait: bool,

    /// Skip the OpenPGP signature checks of stage3 downloads (their hashes are checked).
    #[arg(short = 's', long)]
    pub(crate) skip_signatures: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,

    /// Print the plan as JSON: an object with a `steps` array.
    #[arg(long)]
    pub(crate) json: bool,

    /// Also say for every step whether it is up to date and, if not, why (asks the engine;
    /// starts no container).
    #[arg(long, conflicts_with = "json")]
    pub(crate) status: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,

    /// Rebuild the images asked for even when up to date (phase 2; phase 1 only when its output
    /// is gone); their parents are rebuilt only when they changed.
    #[arg(short = 'f', long = "force")]
    pub(crate) force: bool,

    /// Rebuild the images asked for, phase 1 included.
    #[arg(short = 'F', long = "force-full")]
    pub(crate) force_full: bool,

    /// Rebuild the builders in the plan too.
    #[arg(short = 'c', long = "clean-builders")]
    pub(crate) clean_builders: bool,

    /// Rebuild everything, down to the stage3 import.
    #[arg(short = 'C', long = "clean-all")]
    pub(crate) clean_all: bool,

    /// How many steps may run at once (default: the number of cores).
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,

    /// After a failure, start nothing new (by default, steps that do not need the failed one
    /// go on).
    #[arg(long)]
    pub(crate) fail_fast: bool,

    /// Fail instead of waiting when another build holds the stack's lock.
    #[arg(long)]
    pub(crate) no_wait: bool,

    /// Skip the OpenPGP checks of downloaded stage3s (their SHA512 is still checked).
    #[arg(short = 's', long = "skip-gpg-check")]
    pub(crate) skip_signatures: bool,

    /// Interactive: build what the one id given needs, then open bash in the container its
    /// phase 1 would run in, with the hooks' environment; `gbb-build` there runs the phase by
    /// hand. Nothing of it is kept.
    #[arg(short = 'i', long = "interactive", conflicts_with = "outputs")]
    pub(crate) interactive: bool,

    /// After a successful build, also write the images asked for (with their parents' layers,
    /// under their final tags) to `oci:DIR` (an OCI image layout) or `docker-archive:FILE` (for
    /// `docker load`); repeatable. Needs no engine to read them.
    #[arg(
        long = "output",
        value_name = "oci:DIR|docker-archive:FILE",
        value_parser = <gbb_build::image_output::OutputTarget as std::str::FromStr>::from_str
    )]
    pub(crate) outputs: Vec<gbb_build::image_output::OutputTarget>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CheckArgs {
    /// Image or builder ids (`ns/name`) or namespaces; none: the whole stack.
    #[arg(value_name = "ID")]
    pub(crate) ids: Vec<String>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct PushArgs {
    /// Images or namespaces to push; none: every image of the stack.
    #[arg(value_name = "ID")]
    pub(crate) ids: Vec<String>,

    /// The registry (`host[:port]`); without it, images go to the engine's default registry
    /// under their own names.
    #[arg(long, value_name = "URL")]
    pub(crate) registry: Option<String>,

    /// The user name to log in with (the password comes from `--password-stdin`); without it,
    /// the login `docker login` stored in `$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json` (its credential helper, else its `auths`).
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub(crate) username: Option<String>,

    /// Read the password (or token) from standard input.
    #[arg(long, requires = "username")]
    pub(crate) password_stdin: bool,

    /// A PEM file of CA certificates to trust besides the system's, for a registry whose
    /// certificate comes from a CA of your own.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,

    /// Speak plain HTTP to the registry (a local one without TLS): images and credentials
    /// cross the network unencrypted.
    #[arg(long)]
    pub(crate) insecure: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct UpdateArgs {
    /// Only report; exit 1 when a newer stage3 exists.
    #[arg(long)]
    pub(crate) check: bool,

    /// Do not check the OpenPGP signature of signed release indexes.
    #[arg(short = 's', long = "skip-gpg-check")]
    pub(crate) skip_signatures: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CleanArgs {
    /// Images, builders or namespaces to clean; none: the whole stack.
    #[arg(value_name = "ID")]
    pub(crate) ids: Vec<String>,

    /// Remove their images (every tag) and kept builder states from the engine too.
    #[arg(long)]
    pub(crate) images: bool,

    /// Remove the stack's old images no name points at any more (replaced states and images),
    /// candidate tags of killed runs, and builder tags of another IMAGE_TAG.
    #[arg(long)]
    pub(crate) dangling: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = GraphFormatArg::Text)]
    pub(crate) format: GraphFormatArg,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct SbomArgs {
    /// The image id (`ns/name`).
    pub(crate) id: String,

    /// The document's format.
    #[arg(long, short = 'f', value_enum, default_value_t = SbomFormatArg::Spdx)]
    pub(crate) format: SbomFormatArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum SbomFormatArg {
    /// SPDX 2.3, JSON.
    Spdx,
    /// CycloneDX 1.5, JSON.
    Cyclonedx,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum GraphFormatArg {
    Text,
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AddCommand {
    /// Add a namespace (or, outside any stack, create a new stack with it).
    #[command(
        after_help = "Example:\n  gbb add namespace acme --author 'Jane Doe' --email jane@acme.org"
    )]
    Namespace(AddNamespaceArgs),

    /// Add an image to a namespace.
    #[command(after_help = "Example:\n  gbb add image acme/redis --parent acme/glibc")]
    Image(AddImageArgs),

    /// Add a builder to a namespace.
    #[command(
        after_help = "Examples:\n  gbb add builder acme/bob --stage3 stage3-amd64-openrc\n  gbb add builder acme/bob-musl --builder acme/bob"
    )]
    Builder(AddBuilderArgs),
}

#[derive(Debug, ClapArgs)]
pub(crate) struct AddNamespaceArgs {
    /// The namespace name (lowercase letters, digits, `.`, `_`, `-`).
    pub(crate) name: String,
    /// Author name for image labels.
    #[arg(long)]
    pub(crate) author: Option<String>,
    /// Author e-mail.
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// Container engine: docker or podman.
    #[arg(long)]
    pub(crate) engine: Option<String>,
    /// Take the defaults without asking, even on a terminal.
    #[arg(short = 'y', long = "yes")]
    pub(crate) yes: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct AddImageArgs {
    /// The new image's id: `namespace/name`.
    pub(crate) id: String,
    /// The image it is built on, or `scratch`.
    #[arg(long)]
    pub(crate) parent: Option<String>,
    /// The builder it is built in (default: the parent's kept state, or DEFAULT_BUILDER).
    #[arg(long)]
    pub(crate) builder: Option<String>,
    /// Take the defaults without asking, even on a terminal.
    #[arg(short = 'y', long = "yes")]
    pub(crate) yes: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct AddBuilderArgs {
    /// The new builder's id: `namespace/name`.
    pub(crate) id: String,
    /// The builder it extends; without it, it starts from a stage3.
    #[arg(long)]
    pub(crate) builder: Option<String>,
    /// The stage3 it starts from (STAGE3_BASE), when it extends no builder.
    #[arg(long, value_name = "STAGE3_BASE")]
    pub(crate) stage3: Option<String>,
    /// Take the defaults without asking, even on a terminal.
    #[arg(short = 'y', long = "yes")]
    pub(crate) yes: bool,
}
