//! `gbb check`: build.sh syntax (bash's own), commands no helper, builtin or stage3 command
//! defines, kubler features gbb treats differently, and templates; file and line for each,
//! exit 1 on an error, warnings do not fail.

use std::path::Path;

use insta::assert_snapshot;

use crate::harness::TestStack;

const TEMPLATE: &str =
    "FROM ${IMAGE_PARENT}\nLABEL maintainer=\"${MAINTAINER}\"\nADD rootfs.tar /\n";

/// A seed-layout stack with a builder and two images whose files are all clean.
fn clean_stack() -> TestStack {
    TestStack::new()
        .file("build.conf", "STAGE3_FILE=/srv/stage3.tar\nPORTAGE_DIR=/srv/portage\n")
        .file("dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\nCONTAINER_ENGINE=docker\n")
        .file("dock/ns/builder/bob/build.conf", "# from the stage3\n")
        .file(
            "dock/ns/builder/bob/build.sh",
            r#"
            configure_builder() {
                emerge -q dev-vcs/git
                echo 'FEATURES="buildpkg"' >> /etc/portage/make.conf
            }
        "#,
        )
        .file("dock/ns/images/base/build.conf", "IMAGE_PARENT=scratch\n")
        .file("dock/ns/images/base/Dockerfile.template", TEMPLATE)
        .file(
            "dock/ns/images/base/build.sh",
            r#"
            _packages="sys-apps/busybox"
            configure_rootfs_build() {
                update_use sys-apps/busybox +static
                provide_package sys-libs/glibc
            }
            finish_rootfs_build() {
                local v
                v="$(gcc -dumpversion)"
                copy_gcc_libs
                make_links "${v}"
                useradd -r app || true
            }
            make_links() {
                mkdir -p "${EMERGE_ROOT}/usr/bin" && ln -s busybox "${EMERGE_ROOT}/bin/sh"
            }
        "#,
        )
        .file("dock/ns/images/app/build.conf", "IMAGE_PARENT=ns/base\n")
        .file(
            "dock/ns/images/app/Dockerfile.template",
            "FROM ${IMAGE_PARENT}\nARG PORT=80\nENV HOME=/srv\nADD rootfs.tar /\nEXPOSE ${PORT}\nRUN echo ${HOME} $(date)\n",
        )
}

#[test]
fn the_example_stack_is_clean() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/stack");
    let run = TestStack::new().gbb(&["-w", examples.to_str().unwrap(), "check"]);
    assert_snapshot!(run.all(), @r"
    exit: 0
    --- stdout
    --- stderr
    checked 7 images and builders: 0 errors, 0 warnings
    ");
}

#[test]
fn a_clean_stack_is_clean() {
    let run = clean_stack().gbb(&["check"]);
    assert_snapshot!(run.all(), @r"
    exit: 0
    --- stdout
    --- stderr
    checked 3 images and builders: 0 errors, 0 warnings
    ");
}

#[test]
fn a_misspelt_helper_is_an_error_at_its_line_with_the_helper_named() {
    let stack = clean_stack().file(
        "dock/ns/images/app/build.sh",
        r#"
        _packages="app-misc/hello"
        configure_rootfs_build() {
            update_use app-misc/hello +nls
            update_keyword app-misc/hello '~amd64'
        }
        finish_rootfs_build() {
            git describe --tags > "${EMERGE_ROOT}/VERSION"
        }
    "#,
    );
    let run = stack.gbb(&["check"]);
    assert_snapshot!(run.all(), @r"
    exit: 1
    --- stdout
    error: dock/ns/images/app/build.sh:4: `update_keyword` is not a gbb helper
      hint: did you mean `update_keywords`?
    warning: dock/ns/images/app/build.sh:7: `git` is not a gbb helper, a bash builtin or a command a stage3 has; fine if the builder installs it
    --- stderr
    checked 3 images and builders: 1 errors, 1 warnings
    ");
    // Only what was asked for.
    let run = stack.gbb(&["check", "ns/base"]);
    run.success();
}

#[test]
fn a_bash_syntax_error_is_an_error_at_its_line() {
    let stack = clean_stack().file(
        "dock/ns/images/app/build.sh",
        r#"
        configure_rootfs_build() {
            if [[ -n "${X}" ]]; then
                echo x
        }
    "#,
    );
    let run = stack.gbb(&["check", "ns"]);
    assert_snapshot!(run.all(), @r"
    exit: 1
    --- stdout
    error: dock/ns/images/app/build.sh:4: bash: syntax error near unexpected token `}'
    --- stderr
    checked 3 images and builders: 1 errors, 0 warnings
    ");
}

#[test]
fn templates_must_add_the_root_and_use_known_variables() {
    let stack = clean_stack()
        .file(
            "dock/ns/images/base/Dockerfile.template",
            "FROM ${IMAGE_PARENT}\nLABEL version=\"${VERSION}\" slot=\"${BOB_SLOT}\"\n",
        )
        .file(
            "dock/ns/images/app/build.conf",
            "IMAGE_PARENT=ns/base\nBOB_SLOT=2\n",
        )
        .file(
            "dock/ns/images/app/Dockerfile.template",
            "FROM ${IMAGE_PARENT}\nLABEL slot=\"${BOB_SLOT}\"\nCOPY rootfs.tar /\n",
        )
        .dir("dock/ns/images/bare");
    std::fs::write(stack.path().join("dock/ns/images/bare/build.conf"), "").unwrap();
    let run = stack.gbb(&["check"]);
    assert_snapshot!(run.all(), @r"
    exit: 1
    --- stdout
    error: dock/ns/images/bare/Dockerfile.template: missing; every image needs a Dockerfile.template
    error: dock/ns/images/base/Dockerfile.template: does not add the root file system; it needs a line `ADD rootfs.tar /`
    warning: dock/ns/images/base/Dockerfile.template:2: `${BOB_SLOT}` is not filled in by gbb (IMAGE_PARENT, NAMESPACE, TAG, IMAGE_TAG, MAINTAINER, AUTHOR and the BOB_* variables of the config are) nor declared with ARG or ENV; it reaches the image build as it is
    warning: dock/ns/images/base/Dockerfile.template:2: `${VERSION}` is not filled in by gbb (IMAGE_PARENT, NAMESPACE, TAG, IMAGE_TAG, MAINTAINER, AUTHOR and the BOB_* variables of the config are) nor declared with ARG or ENV; it reaches the image build as it is
    --- stderr
    checked 4 images and builders: 2 errors, 2 warnings
    ");
}

#[test]
fn kubler_features_gbb_treats_differently() {
    let stack = clean_stack()
        .file(
            "dock/ns/build.conf",
            "DEFAULT_BUILDER=ns/bob\nBOB_KEEP_BUILD_LOG=true\n",
        )
        .file("dock/ns/builder/bob/build.conf", "BUILD_PRIVILEGED=false\n")
        .file(
            "dock/ns/images/app/build.sh",
            r#"
            configure_rootfs_build() {
                download_from_oracle https://download.oracle.com/jdk.tar.gz
                tar -xf "${__download_from_oracle}"
            }
        "#,
        );
    let run = stack.gbb(&["check"]);
    assert_snapshot!(run.all(), @r"
    exit: 1
    --- stdout
    warning: dock/ns/build.conf:2: BOB_KEEP_BUILD_LOG: Portage's build logs go to .gbb/build/<ns>/<name>/portage-logs/, not into the image folder (it is read-only in the build container)
    error: dock/ns/images/app/build.sh:2: `download_from_oracle`: kubler's download_from_oracle accepts Oracle's licence for you with a cookie; gbb does not: download the file yourself and fetch it with `download_file file:///path`
    --- stderr
    checked 3 images and builders: 1 errors, 1 warnings
    ");
}

#[test]
fn unknown_references_and_ids() {
    let stack = clean_stack().file("dock/ns/images/app/build.conf", "IMAGE_PARENT=ns/bsae\n");
    let run = stack.gbb(&["check", "ns/app"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stdout
            .contains("error: unknown parent image `ns/bsae` (IMAGE_PARENT at dock/ns/images/app/build.conf:1:1)"),
        "{}",
        run.all()
    );
    let run = stack.gbb(&["check", "ns/nope"]);
    run.refused();
    assert!(run.stderr.contains("unknown id `ns/nope`"), "{}", run.all());
}

/// A namespace on the dry-run engine builds no image, so its images need no template (the
/// seed's own `dock/dummy` has none); the same image on docker does.
#[test]
fn dry_run_namespaces_need_no_templates() {
    let stack = TestStack::new()
        .file(
            "build.conf",
            "STAGE3_FILE=/srv/stage3.tar\nPORTAGE_DIR=/srv/portage\n",
        )
        .file(
            "dock/dry/build.conf",
            "DEFAULT_BUILDER=dry/bob\nCONTAINER_ENGINE=dummy\n",
        )
        .file("dock/dry/builder/bob/build.conf", "# from the stage3\n")
        .file(
            "dock/dry/images/busybox/build.conf",
            "IMAGE_PARENT=scratch\n",
        );
    let run = stack.gbb(&["check"]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    let stack = stack.file(
        "dock/dry/build.conf",
        "DEFAULT_BUILDER=dry/bob\nCONTAINER_ENGINE=docker\n",
    );
    let run = stack.gbb(&["check"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.all().contains("Dockerfile.template: missing"),
        "{}",
        run.all()
    );
}
