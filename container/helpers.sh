# shellcheck shell=bash
# gentoo-bb's in-container library: the environment of a build, the steps of phase 1, and the
# helpers users call from their build.sh hooks (update_use, provide_package, ...).
#
# Helper names and arguments follow kubler's, so existing build.sh files work unchanged.

EMERGE_ROOT=${EMERGE_ROOT:-/emerge-root}
# kubler's name for the same folder.
_EMERGE_ROOT=${EMERGE_ROOT}
# Where gbb mounts its folders: gbb passes each (crates/gbb-build/src/mount_targets.rs); the
# defaults are the same paths, for a shell started by hand.
GBB_OUT=${GBB_OUT:-/gbb-out}
GBB_CONFIG=${GBB_CONFIG:-/config}
GBB_DISTFILES=${GBB_DISTFILES:-/distfiles}
GBB_PORTAGE=${GBB_PORTAGE:-/var/db/repos/gentoo}
GBB_PACKAGE_CACHE=${GBB_PACKAGE_CACHE:-/var/cache/gbb/binpkgs}
GBB_PACKAGE_RUN=${GBB_PACKAGE_RUN:-/packages}
# Whether this phase 1's container is kept as a builder state, because an image of the stack
# builds in it (crates/gbb-build/src/executor/container.rs). Only then are the image's
# packages merged into the container's own / as well, its headers and static libraries kept
# for children and its root emptied before the commit. Unset (a shell): kept, the old way.
GBB_KEEP_STATE=${GBB_KEEP_STATE:-true}
GBB_STEP=setup
export EMERGE_ROOT _EMERGE_ROOT

# The rest of kubler's in-container names, which build.sh files read (see gbb_kubler_env for
# the ones that need Portage). Not readonly as in kubler: the seed's scripts assign some.
_CONFIG=${GBB_CONFIG}
# Kept in the builder state (so children's containers have it): each image's headers and
# static libraries as `<ns>_<name>-headers.tar` and `-static_libs.tar`, for _headers_from.
_ROOTFS_BACKUP=/backup-rootfs
# kubler's documentation files. gbb writes PACKAGES.md itself from what each image of the
# chain installed; these exist only so that hooks writing to them (write_checkbox_line) work.
_DOC_PACKAGE_INSTALLED=${_ROOTFS_BACKUP}/doc.package.installed
_DOC_PACKAGE_PROVIDED=${_ROOTFS_BACKUP}/doc.package.provided
_DOC_FOOTER_PURGED=${_ROOTFS_BACKUP}/doc.footer.purged
_DOC_FOOTER_INCLUDES=${_ROOTFS_BACKUP}/doc.footer.includes
_PACKAGE_INSTALLED=${_ROOTFS_BACKUP}/package.installed
# The seed's names for the same folders.
# shellcheck disable=SC2034 # for build.sh
CONFIG=${_CONFIG}
# shellcheck disable=SC2034 # for build.sh
ROOTFS_BACKUP=${_ROOTFS_BACKUP}
# kubler's defaults for the BOB_* switches build.sh files test.
BOB_KEEP_BUILD_LOG=${BOB_KEEP_BUILD_LOG:-false}
BOB_UPDATE_WORLD=${BOB_UPDATE_WORLD:-false}
BOB_PACKAGE_CONFIG_DIFF=${BOB_PACKAGE_CONFIG_DIFF:-false}
BOB_PACKAGE_CONFIG_STRICT=${BOB_PACKAGE_CONFIG_STRICT:-true}
BOB_CURRENT_TARGET=${BOB_CURRENT_TARGET:-${GBB_ID:-}}
# The emerge command and its extra options (kubler's _emerge_bin/_emerge_opt, set from
# BOB_EMERGE_BIN/BOB_EMERGE_OPT; build.sh may assign them, or the seed's EMERGE_BIN/EMERGE_OPT).
_emerge_bin=${BOB_EMERGE_BIN:-emerge}
_emerge_opt=${BOB_EMERGE_OPT:-}
# The account files a hook may change in the builder (useradd, groupadd, acct-user packages).
GBB_ACCOUNT_FILES=(passwd group shadow gshadow)
GBB_ACCOUNTS_BEFORE=/var/tmp/gbb-accounts

# A line for gbb (not for the log reader).
gbb_mark() {
    printf '::gbb:: %s\n' "$*"
}

gbb_fail() {
    printf 'gbb: %s\n' "$*" >&2
    gbb_mark "failed step=${GBB_STEP} status=1"
    exit 1
}

# The ERR trap: says which step failed and on which command, then exits with its status.
gbb_on_error() {
    local status=$1 command=$2 line=$3
    trap - ERR
    if (( status == 127 )); then
        printf 'gbb: %s: command not found (an unknown helper?): %s\n' "${GBB_STEP}" "${command}" >&2
    else
        printf 'gbb: %s failed with status %s at line %s: %s\n' "${GBB_STEP}" "${status}" "${line}" "${command}" >&2
    fi
    gbb_mark "failed step=${GBB_STEP} status=${status}"
    exit "${status}"
}

# Portage settings from the BOB_* variables. Portage reads these from the environment and
# FEATURES is incremental, so the stage3's make.conf keeps its own settings underneath.
gbb_setup_env() {
    export PKGDIR=${GBB_PACKAGE_RUN} DISTDIR=${GBB_DISTFILES}
    [[ -n ${BOB_CHOST:-} ]] && export CHOST=${BOB_CHOST}
    [[ -n ${BOB_CFLAGS:-} ]] && export CFLAGS=${BOB_CFLAGS}
    [[ -n ${BOB_CXXFLAGS:-} ]] && export CXXFLAGS=${BOB_CXXFLAGS}
    [[ -n ${BOB_FEATURES:-} ]] && export FEATURES=${BOB_FEATURES}
    [[ -n ${BOB_GENTOO_MIRRORS:-} ]] && export GENTOO_MIRRORS=${BOB_GENTOO_MIRRORS}
    [[ -n ${BOB_EMERGE_DEFAULT_OPTS:-} ]] && export EMERGE_DEFAULT_OPTS=${BOB_EMERGE_DEFAULT_OPTS}
    [[ -n ${BOB_TIMEZONE:-} ]] && export TZ=${BOB_TIMEZONE}
    MAKEOPTS=${BOB_MAKEOPTS:--j$(nproc)}
    export MAKEOPTS
    mkdir -p /etc/portage/profile /etc/portage/package.use /etc/portage/package.accept_keywords \
        /etc/portage/package.mask /etc/portage/package.unmask /etc/portage/repos.conf \
        "${EMERGE_ROOT}"
    touch /etc/portage/profile/package.provided
    gbb_kubler_env
    gbb_binpkg_setup
}

# kubler's names that need Portage: _LIB, the library folder name of the profile (`lib64` on
# a glibc amd64 stage3, `lib` on musl), which hooks use as "${_EMERGE_ROOT}"/usr/"${_LIB}".
# A profile that does not set LIBDIR_<arch> (the test tree) uses `lib`.
gbb_kubler_env() {
    gbb_read_portage_facts
    gbb_find_portage_python 2>/dev/null || true
    _LIB=${_LIB:-lib}
    export _LIB
}

# ---- work done once per builder -------------------------------------------------------
# What is the same for every container of a builder is done when the builder (or a kept
# state) is made and kept in it, so that a container starts with only its image's work left.

# Where the builder keeps what gbb_find_portage_python found (the interpreter with Portage,
# and _LIB): two lines, written at the end of a builder's hook and of a phase 1 that is kept.
# Finding them costs a Python start with Portage (about 0.15 s) in every container otherwise.
GBB_PORTAGE_FACTS=/var/lib/gbb/portage-facts

gbb_read_portage_facts() {
    [[ -z ${GBB_PORTAGE_PYTHON:-} && -f ${GBB_PORTAGE_FACTS} ]] || return 0
    local python libdir
    { IFS= read -r python && IFS= read -r libdir; } <"${GBB_PORTAGE_FACTS}" || return 0
    # A fact that no longer holds (the interpreter went) is found again.
    command -v "$python" >/dev/null || return 0
    export GBB_PORTAGE_PYTHON=$python _LIB=${libdir:-lib}
}

# Finds the facts again (a hook may have changed the interpreter or the profile) and keeps
# them in this container.
gbb_keep_portage_facts() {
    unset GBB_PORTAGE_PYTHON
    gbb_find_portage_python 2>/dev/null || return 0
    mkdir -p "${GBB_PORTAGE_FACTS%/*}"
    printf '%s\n%s\n' "${GBB_PORTAGE_PYTHON}" "${_LIB}" >"${GBB_PORTAGE_FACTS}.tmp"
    mv "${GBB_PORTAGE_FACTS}.tmp" "${GBB_PORTAGE_FACTS}"
}

# Portage's global updates (the package moves of each repository's profiles/updates) for the
# builder's own /, as emerge does before its first merge, recorded in the builder's mtimedb so
# that no container of it does them again. emerge would do them in every container: for the
# empty root every time (its mtimedb is the root's own, and the root starts empty), and for /
# in every container not kept. Binary packages are left alone here (an empty PKGDIR): the
# cache of a builder chain is made from this tree (its key covers the tree), so its packages
# carry the names the updates give already; the same is why phase 1's merges into the empty
# root and into a kept / skip the moves (--package-moves=n, gbb_emerge_packages).
# The tree's metadata cache, when it has none (a git checkout of the tree, or a small tree of
# one's own): Portage then runs an ebuild to learn its metadata, in every container for each
# ebuild its dependency calculation visits, and keeps the result in that container's
# depcachedir, which only a kept state keeps. Made here once for the whole tree into the
# builder's depcachedir (the tree itself is mounted read-only); Portage checks each entry
# against the ebuild's and eclasses' times, which the same mounted tree keeps.
gbb_metadata_cache() {
    [[ -d ${GBB_PORTAGE}/metadata/md5-cache ]] && return 0
    gbb_mark "step metadata-cache"
    emerge --regen --quiet --color=n --jobs="$(nproc)"
}

gbb_global_updates() {
    local pkgdir status=0
    pkgdir=$(mktemp -d /var/tmp/gbb-updates.XXXXXX)
    PKGDIR=$pkgdir gbb_portage global-updates || status=$?
    rm -rf "$pkgdir"
    return "$status"
}

# ---- binary packages -------------------------------------------------------------------
# The cache of this builder chain is mounted read-only at GBB_PACKAGE_CACHE; PKGDIR is a fresh,
# empty folder of this run. Before anything emerges, PKGDIR gets a symlink to every cached
# package and a Packages index of them (binpkg-index.py), and Portage is told to trust that
# index (it skips the symlinks when it scans). Portage reads cached packages through the links
# and writes each package it builds as a new file (binpkg-multi-instance gives it a build id
# of its own), so no cached file can be changed from here; after the run gbb moves the new
# regular files with valid names into the cache, never over a file already there.
GBB_BINPKG_EXCLUDED=()

gbb_binpkg_setup() {
    FEATURES="${FEATURES:+${FEATURES} }pkgdir-index-trusted"
    export FEATURES
    # `gbb shell` sets up twice (gbb-build, then its start-up file): link once.
    [[ -z ${GBB_BINPKG_LINKED:-} ]] || return 0
    export GBB_BINPKG_LINKED=1
    # A Packages file in the fresh PKGDIR before anything ran is the index this image's last
    # run made, which gbb gives only when the cache is as it was then (binpkg_index.rs).
    if [[ -f ${PKGDIR}/Packages && ! -L ${PKGDIR}/Packages ]]; then
        GBB_BINPKG_INDEX_GIVEN=1
    fi
    [[ -d ${GBB_PACKAGE_CACHE} ]] || return 0
    mkdir -p "${PKGDIR}"
    cp -rs "${GBB_PACKAGE_CACHE}/." "${PKGDIR}/"
    # The cache's record of _no_cache_<tag> rebuilds is read where it is (gbb_drop_no_cache);
    # this run's new records go into a file of its own.
    rm -f "${PKGDIR}/.gbb-no-cache-done"
}

gbb_binpkg_index() {
    # An empty cache (a chain's first build) needs no index: Portage starts one itself.
    [[ -n $(find "${GBB_PACKAGE_CACHE}" -type f -print -quit 2>/dev/null) ]] || return 0
    if (( ${#GBB_BINPKG_EXCLUDED[@]} == 0 )) && [[ -n ${GBB_BINPKG_INDEX_GIVEN:-} ]]; then
        echo "gbb: binary package index: the one this image's last run made (the cache is as it was then)"
        gbb_binpkg_keep_index
        return 0
    fi
    # The interpreter gbb_kubler_env found with Portage, as every other Portage question.
    "${GBB_PORTAGE_PYTHON:-python3}" "${GBB_LIB:-/usr/local/lib/gbb}/binpkg-index.py" \
        "${GBB_PACKAGE_CACHE}" "${PKGDIR}" "${GBB_BINPKG_EXCLUDED[@]}"
    if (( ${#GBB_BINPKG_EXCLUDED[@]} == 0 )); then
        gbb_binpkg_keep_index
    fi
}

# The index of the whole cache (no _no_cache package left out) goes with the run's outputs,
# for gbb to give to the image's next run (binpkg_index.rs). Before anything emerges:
# Portage rewrites PKGDIR's index when it adds a package.
gbb_binpkg_keep_index() {
    [[ -n ${GBB_OUT:-} && -d ${GBB_OUT} && -f ${PKGDIR}/Packages ]] || return 0
    cp -- "${PKGDIR}/Packages" "${GBB_OUT}/binpkg-index" || true
}

# gbb_binpkg_index makes PKGDIR's index once per run, after build.sh is read (gbb_image,
# gbb_builder, shellrc), so that _no_cache's packages are left out of it from the start.
# gbb_binpkg_exclude ATOM...: build these packages again instead of taking them from the
# cache (kubler's `_no_cache`; for a hook: the index is made again); the new packages go into
# the cache next to the old ones.
gbb_binpkg_exclude() {
    GBB_BINPKG_EXCLUDED+=("$@")
    gbb_binpkg_index
}

gbb_load_build_script() {
    GBB_STEP=build.sh
    if [[ -f ${GBB_CONFIG}/build.sh ]]; then
        # shellcheck source=/dev/null
        source "${GBB_CONFIG}/build.sh"
    fi
}

# Runs a hook when build.sh defines it (configure_builder also under its old name).
#
# Hooks run as kubler runs them: errexit, but no pipefail (a `grep | head` that finds nothing
# must not stop an existing build.sh). configure_builder compiles for the builder itself, so
# CHOST/CFLAGS/CXXFLAGS are BOB_BUILDER_* while it runs (they differ with crossdev); the other
# hooks see ROOT set to the empty root.
gbb_step() {
    local hook=$1 name=$1
    if [[ $hook == configure_builder ]] && ! declare -F configure_builder >/dev/null \
        && declare -F configure_bob >/dev/null; then
        name=configure_bob
    fi
    declare -F "$name" >/dev/null || return 0
    GBB_STEP=$name
    gbb_mark "step ${name}"
    set +o pipefail
    if [[ $hook == configure_builder ]]; then
        gbb_with_builder_flags "$name"
    else
        ROOT=${EMERGE_ROOT} "$name"
    fi
    set -o pipefail
    GBB_STEP=between-steps
}

# gbb_with_builder_flags COMMAND...: runs COMMAND with CHOST, CFLAGS and CXXFLAGS from
# BOB_BUILDER_* (each falls back to its BOB_* value), and puts the image's values back after.
gbb_with_builder_flags() {
    local -A saved=()
    local name value
    for name in CHOST CFLAGS CXXFLAGS; do
        [[ -v $name ]] && saved[$name]=${!name}
        value=BOB_BUILDER_${name}
        if [[ -n ${!value:-} ]]; then
            export "${name}=${!value}"
        fi
    done
    "$@"
    for name in CHOST CFLAGS CXXFLAGS; do
        if [[ -v saved[$name] ]]; then
            export "${name}=${saved[$name]}"
        else
            unset "$name"
        fi
    done
}

# The packages of this image: `_packages`, or the seed's PACKAGES.
gbb_package_list() {
    printf '%s\n' "${_packages:-${PACKAGES:-}}"
}

# gbb_setting LOWER UPPER: the value of kubler's lower-case build.sh variable, or else of the
# seed's upper-case one (`_keep_headers`/`KEEP_HEADERS`, `_headers_from`/`HEADERS_FROM`, ...).
gbb_setting() {
    local lower=$1 upper=$2
    printf '%s' "${!lower:-${!upper:-}}"
}

# gbb_enabled LOWER UPPER: whether a kubler switch (`_keep_headers=true`) is on. kubler tests
# for "set at all"; `false` is taken at its word here.
gbb_enabled() {
    local value
    value=$(gbb_setting "$1" "$2")
    [[ -n $value && $value != false ]]
}

# The emerge command (BOB_EMERGE_BIN, kubler's _emerge_bin, the seed's EMERGE_BIN) and its
# extra options (BOB_EMERGE_OPT, _emerge_opt, EMERGE_OPT), as build.sh left them.
gbb_emerge_command() {
    local bin=${EMERGE_BIN:-${_emerge_bin:-emerge}}
    local opt=${EMERGE_OPT:-${_emerge_opt:-}}
    local -a opts=()
    read -r -a opts <<<"$opt"
    GBB_EMERGE=("$bin" "${opts[@]}")
}

# gbb_emerge ARGS...: the emerge command with ARGS. A crossdev wrapper (emerge-<chost>) brings
# its own CHOST and PKGDIR, so they are not passed to it, as kubler does.
gbb_emerge() {
    gbb_emerge_command
    if [[ ${GBB_EMERGE[0]} == emerge ]]; then
        "${GBB_EMERGE[@]}" "$@"
    else
        (unset CHOST PKGDIR && "${GBB_EMERGE[@]}" "$@")
    fi
}

# Whether this container is kept as a builder state (GBB_KEEP_STATE).
gbb_keeps_state() {
    [[ ${GBB_KEEP_STATE} != false ]]
}

gbb_emerge_packages() {
    local -a packages
    read -r -a packages <<<"$(gbb_package_list | tr '\n' ' ')"
    if (( ${#packages[@]} == 0 )); then
        gbb_mark "step emerge (no packages)"
        return 0
    fi
    GBB_STEP=emerge
    gbb_mark "step emerge ${packages[*]}"
    if [[ ${BOB_KEEP_BUILD_LOG} == true ]]; then
        # kubler keeps Portage's build logs in the image folder, which gbb mounts read-only;
        # they go with gbb's other output of this image instead.
        mkdir -p "${GBB_OUT}/portage-logs"
        export PORTAGE_LOGDIR=${GBB_OUT}/portage-logs
        printf 'gbb: BOB_KEEP_BUILD_LOG: Portage build logs go to portage-logs/ in the output folder of %s\n' \
            "${GBB_ID:-this image}"
    fi
    # No package moves: gbb_global_updates did them for the builder's / once, and the empty
    # root and the binary package cache (made from this tree) have nothing to move.
    local -a common=(--binpkg-respect-use=y --color=n --quiet-build=y --package-moves=n)
    # Gentoo's acct-group and acct-user packages run `groupadd`/`useradd --prefix "${ROOT}"`
    # in pkg_preinst, which lock and write ROOT/etc/group, passwd, ...: in a root without an
    # etc folder (a child's root starts empty) they fail. The root gets etc/ anyway (ld.so.conf).
    mkdir -p "${EMERGE_ROOT}/etc"
    if [[ -n ${BOB_INSTALL_BASELAYOUT:-} ]]; then
        gbb_emerge --root="${EMERGE_ROOT}" --buildpkg --usepkg --verbose "${common[@]}" \
            sys-apps/baselayout
    fi
    # Into the empty root that becomes the image; binary packages are made (buildpkg) and
    # used when present, so a rebuild compiles only what changed.
    gbb_emerge --root="${EMERGE_ROOT}" --buildpkg --usepkg --verbose "${common[@]}" \
        "${packages[@]}"
    # Into the build container's own root too, from the binary packages just made, so that
    # images built in this kept state can compile and link against them; a container that
    # is not kept (nothing builds in it) would throw that merge away.
    if gbb_keeps_state; then
        GBB_STEP=emerge-builder
        gbb_mark "step emerge-builder ${packages[*]}"
        gbb_emerge --usepkgonly --noreplace "${common[@]}" "${packages[@]}"
    else
        gbb_emerge_builder_accounts "${common[@]}"
    fi
    unset PORTAGE_LOGDIR
    GBB_STEP=between-steps
}

# gbb_emerge_builder_accounts EMERGE_OPTION...: in a container that is not kept, the users
# and groups the root got from Gentoo's acct-user and acct-group packages are made in the
# builder too, by merging just those packages into /, as the merge of all of them would: the
# builder's account files (with the ancestors' users, and the shadow entries the root's own
# `useradd --prefix` cannot write without a shadow file) are what gbb_carry_accounts puts into
# the image.
gbb_emerge_builder_accounts() {
    local dir cpv
    local -a accounts=()
    for dir in "${EMERGE_ROOT}"/var/db/pkg/acct-group/*/ "${EMERGE_ROOT}"/var/db/pkg/acct-user/*/; do
        [[ -d $dir ]] || continue
        cpv=${dir#"${EMERGE_ROOT}"/var/db/pkg/}
        accounts+=("=${cpv%/}")
    done
    (( ${#accounts[@]} )) || return 0
    GBB_STEP=emerge-builder
    gbb_mark "step emerge-builder ${accounts[*]}"
    gbb_emerge --usepkgonly --noreplace --oneshot "$@" "${accounts[@]}"
}

# _no_cache="cat/pkg ..." builds those packages again instead of taking them from the binary
# package cache, every build; _no_cache_<tag> does so once per tag (the first build that sees
# the tag), so that a user can force one rebuild of a package by adding
# `_no_cache_20260101=cat/pkg`. Entries are packages (`cat/pkg`) or, as in kubler, files below
# PKGDIR (`cat/pkg/pkg-1.0-1.xpak`: its package is built again). The cache is read-only here:
# the packages are left out of this run's index (GBB_BINPKG_EXCLUDED), and the new packages go
# into the cache next to the old ones. Which tags were done is recorded in this run's PKGDIR,
# from where gbb adds the records to the cache's (read here from the cache).
gbb_drop_no_cache() {
    local var tag entry atom
    local done_file=${GBB_PACKAGE_CACHE}/.gbb-no-cache-done new_file=${PKGDIR:-${GBB_PACKAGE_RUN}}/.gbb-no-cache-done
    local -a atoms=()
    # compgen fails when no variable matches; in the substitution that would set off the ERR
    # trap (errtrace) and print a failure into every log.
    for var in $(compgen -v _no_cache || true); do
        [[ $var == _no_cache || $var == _no_cache_?* ]] || continue
        tag=${var#_no_cache}
        tag=${tag#_}
        for entry in ${!var}; do
            [[ $entry == */* && $entry != *..* ]] || continue
            if [[ -n $tag ]] && grep -q -F -x -e "${tag} ${entry}" "$done_file" 2>/dev/null; then
                continue
            fi
            # cat/pkg of the entry, whether it names a package or one of its files.
            atom=$(cut -d/ -f1-2 <<<"$entry")
            atoms+=("$atom")
            printf 'gbb: %s: %s is built again, not taken from the binary package cache\n' "$var" "$atom"
            if [[ -n $tag ]]; then
                printf '%s %s\n' "$tag" "$entry" >>"$new_file"
            fi
        done
    done
    # Left out of the index gbb_image makes next.
    GBB_BINPKG_EXCLUDED+=("${atoms[@]}")
}

# Keeps this image's headers and static libraries in the builder state, where children find
# them (_headers_from, _static_libs_from), as `/backup-rootfs/<ns>_<name>-<kind>.tar`; and its
# iconv modules (usr/lib*/gconv) for _iconv_from. Paths in the tars start at the empty root's
# own folder (`emerge-root/usr/include/...`), as kubler writes them, so tars a hook writes the
# kubler way (`tar -cpf "${_ROOTFS_BACKUP}"/glibc-iconv.tar "${_EMERGE_ROOT}"/usr/lib64/gconv`)
# are extracted the same way.
gbb_keep_build_resources() {
    # No state, no children to find them.
    gbb_keeps_state || return 0
    GBB_STEP=keep-build-resources
    local name=${GBB_ID//\//_} rel=${EMERGE_ROOT#/} kind
    mkdir -p "${_ROOTFS_BACKUP}"
    local -A patterns=(
        [headers]="usr/include"
        [static_libs]="lib* usr/lib*"
        [iconv]="usr/lib*/gconv"
    )
    for kind in headers static_libs iconv; do
        local -a dirs=() files=()
        local dir
        local pattern path
        for pattern in ${patterns[$kind]}; do
            # The pattern is matched inside the root, wherever a hook left the shell's folder.
            for path in /"${rel}"/${pattern}; do
                [[ -d $path && ! -L $path ]] && dirs+=("${path#/}")
            done
        done
        (( ${#dirs[@]} )) || continue
        local -a only=()
        [[ $kind == static_libs ]] && only=(-name '*.a')
        mapfile -d '' files < <(cd / && find "${dirs[@]}" "${only[@]}" \( -type f -o -type l \) -print0)
        (( ${#files[@]} )) || continue
        printf '%s\0' "${files[@]}" | tar -C / --null -cpf "${_ROOTFS_BACKUP}/${name}-${kind}.tar" -T -
    done
    GBB_STEP=between-steps
}

# Extracts into the empty root what build.sh asks for from images built before it in this
# chain: _headers_from, _static_libs_from, _iconv_from (or the seed's HEADERS_FROM, ...), each
# a list of image ids. Like kubler, an id whose files are not in this builder state is skipped,
# but gbb says so.
gbb_extract_build_resources() {
    GBB_STEP=extract-build-resources
    local kind ids id file
    for kind in headers static_libs iconv; do
        ids=$(gbb_setting "_${kind}_from" "${kind^^}_FROM")
        for id in $ids; do
            file=${_ROOTFS_BACKUP}/${id//\//_}-${kind}.tar
            # kubler's glibc hook writes its iconv tar under the image's short name.
            [[ -f $file ]] || file=${_ROOTFS_BACKUP}/${id##*/}-${kind}.tar
            if [[ -f $file ]]; then
                tar -C / -xpf "$file"
                printf 'gbb: _%s_from: added the %s of %s\n' "$kind" "${kind//_/ }" "$id"
            else
                printf 'gbb: _%s_from: no %s of %s in this builder state (is it an ancestor built in this chain?)\n' \
                    "$kind" "${kind//_/ }" "$id" >&2
            fi
        done
    done
    GBB_STEP=between-steps
}

# The builder's ld.so.conf joins the image's, as in kubler (libraries in folders a package
# registered in the builder must be found in the image too).
gbb_merge_ld_so_conf() {
    [[ -n $(gbb_package_list | tr -d '[:space:]') && -f /etc/ld.so.conf ]] || return 0
    mkdir -p "${EMERGE_ROOT}/etc"
    cat /etc/ld.so.conf >>"${EMERGE_ROOT}/etc/ld.so.conf"
    sort -u -o "${EMERGE_ROOT}/etc/ld.so.conf" "${EMERGE_ROOT}/etc/ld.so.conf"
}

# Users and groups: Portage and the hooks create them in the builder (useradd in a hook, an
# acct-user package), not in the empty root. gbb_snapshot_accounts keeps the builder's account
# files before build.sh runs; gbb_carry_accounts then puts each file that changed into the
# root, as kubler does: the builder's whole file (which holds the ancestors' users too, since
# the builder state is theirs), plus any entry only the root had (a package that wrote one
# into the root itself).
gbb_snapshot_accounts() {
    local file
    rm -rf "${GBB_ACCOUNTS_BEFORE}"
    mkdir -p "${GBB_ACCOUNTS_BEFORE}"
    for file in "${GBB_ACCOUNT_FILES[@]}"; do
        [[ -f /etc/${file} ]] && cp -p "/etc/${file}" "${GBB_ACCOUNTS_BEFORE}/${file}"
    done
    return 0
}

gbb_carry_accounts() {
    GBB_STEP=carry-accounts
    local file before target
    for file in "${GBB_ACCOUNT_FILES[@]}"; do
        before=${GBB_ACCOUNTS_BEFORE}/${file}
        target=${EMERGE_ROOT}/etc/${file}
        [[ -f /etc/${file} ]] || continue
        [[ -f $before ]] || before=/dev/null
        cmp -s "/etc/${file}" "$before" && continue
        mkdir -p "${EMERGE_ROOT}/etc"
        if [[ -f $target ]]; then
            # Entries are keyed by their first field, the name.
            awk -F: 'NR == FNR { seen[$1] = 1; print; next } !($1 in seen)' \
                "/etc/${file}" "$target" >"${target}.gbb-tmp"
            cat "${target}.gbb-tmp" >"$target"
            rm -f "${target}.gbb-tmp"
        else
            cp -p "/etc/${file}" "$target"
        fi
        printf 'gbb: carried the accounts of /etc/%s into the image\n' "$file"
    done
    rm -rf "${GBB_ACCOUNTS_BEFORE}"
    GBB_STEP=between-steps
}

# What this image installed: /gbb-out/packages.tsv (cpv, USE, LICENSE) for PACKAGES.md, and
# package.provided, so that images built in this kept state do not install it again.
gbb_record_packages() {
    GBB_STEP=record-packages
    local db=${EMERGE_ROOT}/var/db/pkg dir cpv
    : >"${GBB_OUT}/packages.tsv.tmp"
    if [[ -d $db ]]; then
        for dir in "$db"/*/*/; do
            [[ -d $dir ]] || continue
            cpv=${dir#"$db"/}
            cpv=${cpv%/}
            printf '%s\t%s\t%s\n' "$cpv" "$(cat "$dir/USE" 2>/dev/null || true)" \
                "$(cat "$dir/LICENSE" 2>/dev/null || true)" >>"${GBB_OUT}/packages.tsv.tmp"
            if gbb_keeps_state; then
                printf '%s\n' "$cpv" >>/etc/portage/profile/package.provided
            fi
        done
    fi
    if [[ -f ${GBB_OUT}/extra-installed.tsv ]]; then
        cat "${GBB_OUT}/extra-installed.tsv" >>"${GBB_OUT}/packages.tsv.tmp"
    fi
    sort -o "${GBB_OUT}/packages.tsv.tmp" "${GBB_OUT}/packages.tsv.tmp"
    mv "${GBB_OUT}/packages.tsv.tmp" "${GBB_OUT}/packages.tsv"
    cut -f1 "${GBB_OUT}/packages.tsv" >"${GBB_OUT}/package.installed"
    GBB_STEP=between-steps
}

# What the image's SBOM is made from, packed before the cleanup purges var/db/pkg:
# /gbb-out/pkgdb.tar with pkg/<category>/<PF>/ holding the files of the package's var/db/pkg
# entry that gbb reads, plus SRC_URI and the Manifest (the distfiles' digests) from the
# package's ebuild in its repository (see `gbb_portage sources`), and extra-installed.tsv
# (log_as_installed's records). gbb parses it on the host, as untrusted input.
gbb_record_pkgdb() {
    GBB_STEP=record-pkgdb
    local db=${EMERGE_ROOT}/var/db/pkg stage=${GBB_OUT}/pkgdb.tmp
    local dir cpv field
    local -a sources=()
    rm -rf "$stage"
    mkdir -p "$stage/pkg"
    for dir in "$db"/*/*/; do
        [[ -d $dir ]] || continue
        cpv=${dir#"$db"/}
        cpv=${cpv%/}
        mkdir -p "$stage/pkg/$cpv"
        for field in CONTENTS SLOT repository USE IUSE LICENSE HOMEPAGE DESCRIPTION BUILD_TIME; do
            if [[ -f $dir/$field ]]; then cp "$dir/$field" "$stage/pkg/$cpv/"; fi
        done
        sources+=("${cpv}::$(cat "$dir/repository" 2>/dev/null || true)")
    done
    if (( ${#sources[@]} )); then
        gbb_portage sources "$stage" "${sources[@]}"
    fi
    if [[ -f ${GBB_OUT}/extra-installed.tsv ]]; then
        cp "${GBB_OUT}/extra-installed.tsv" "$stage/"
    fi
    tar -C "$stage" --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 \
        -cf "${GBB_OUT}/pkgdb.tar.tmp" .
    mv "${GBB_OUT}/pkgdb.tar.tmp" "${GBB_OUT}/pkgdb.tar"
    rm -rf "$stage"
    GBB_STEP=between-steps
}

# Removes what an image does not need at run time, as kubler does, unless build.sh keeps it
# (_keep_headers, _keep_static_libs, or the seed's KEEP_HEADERS, KEEP_STATIC_LIBS; gbb's own
# _keep_docs, _keep_pkg_db), and lists what went. Object files (*.o, *.c, *.prl) in the
# library folders go too unless BOB_SKIP_LIB_CLEANUP is set.
gbb_cleanup_rootfs() {
    GBB_STEP=cleanup
    local root=${EMERGE_ROOT}
    : >"${GBB_OUT}/purged.txt"
    gbb_purge() {
        local pattern path
        for pattern in "$@"; do
            for path in "${root}"/${pattern}; do
                if [[ -e $path || -L $path ]]; then
                    printf '%s\n' "${path#"${root}"}" >>"${GBB_OUT}/purged.txt"
                    rm -rf "${path:?}"
                fi
            done
        done
    }
    gbb_purge_files() {
        local file
        while IFS= read -r -d '' file; do
            printf '%s\n' "${file#"${root}"}" >>"${GBB_OUT}/purged.txt"
            rm -f "$file"
        done < <(find "$@" -type f -print0)
    }
    if ! gbb_enabled _keep_headers KEEP_HEADERS; then
        gbb_purge usr/include "usr/${_LIB}/pkgconfig" "usr/${_LIB}/cmake" 'usr/bin/*-config'
    fi
    [[ -n ${_keep_docs:-} ]] || gbb_purge usr/share/doc usr/share/man usr/share/info usr/share/gtk-doc
    [[ -n ${_keep_pkg_db:-} ]] || gbb_purge var/db/pkg
    gbb_purge var/cache/edb var/lib/portage var/tmp/portage var/lib/gentoo etc/portage \
        etc/ld.so.cache usr/share/aclocal usr/share/gettext 'usr/share/gir-[0-9]*' \
        usr/share/vala/vapi 'usr/lib*/qt*/mkspecs' 'usr/share/qt*/mkspecs'
    local -a lib_dirs=()
    local dir
    for dir in "${root}/${_LIB}" "${root}/usr/${_LIB}"; do
        [[ -d $dir ]] && lib_dirs+=("$dir")
    done
    if [[ -z ${BOB_SKIP_LIB_CLEANUP:-} ]] && (( ${#lib_dirs[@]} )); then
        gbb_purge_files "${lib_dirs[@]}" \( -name '*.[co]' -o -name '*.prl' \)
    fi
    if ! gbb_enabled _keep_static_libs KEEP_STATIC_LIBS; then
        gbb_purge_files "$root" \( -name '*.a' -o -name '*.la' \)
    fi
    # BOB_INSTALL_BASELAYOUT: /var/run is a link to /run, as on a booted system.
    if [[ -n ${BOB_INSTALL_BASELAYOUT:-} ]]; then
        mkdir -p "${root}/run" "${root}/var"
        [[ -e ${root}/var/run || -L ${root}/var/run ]] || ln -s /run "${root}/var/run"
    fi
    GBB_STEP=between-steps
}

# The root as a reproducible tar: sorted names, numeric owners (as the build set them: a
# hook's `chown user "${_EMERGE_ROOT}"/home/user` must reach the image), times clamped to
# SOURCE_DATE_EPOCH; written under a temporary name and renamed when whole.
gbb_write_rootfs() {
    GBB_STEP=rootfs.tar
    gbb_mark "step rootfs.tar"
    local epoch=${SOURCE_DATE_EPOCH:-0}
    tar -C "${EMERGE_ROOT}" --numeric-owner --sort=name --xattrs --xattrs-include='*' \
        --mtime="@${epoch}" --clamp-mtime \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -cf "${GBB_OUT}/rootfs.tar.tmp" .
    mv "${GBB_OUT}/rootfs.tar.tmp" "${GBB_OUT}/rootfs.tar"
    # The kept builder state must not carry this image's files: a child's root starts empty.
    # A container that is not kept is removed with them.
    if gbb_keeps_state; then
        gbb_empty_root
    fi
    GBB_STEP=between-steps
}

gbb_empty_root() {
    find "${EMERGE_ROOT}" -mindepth 1 -delete
}

# ---- helpers for build.sh hooks --------------------------------------------------------
#
# kubler's helpers, with its names, arguments and globals (`__download_file`). A helper that
# fails says why in one `gbb:` line and returns non-zero, which stops the hook (errexit).

# gbb_helper_error HELPER MESSAGE...: the one line a failing helper prints.
gbb_helper_error() {
    local helper=$1
    shift
    printf 'gbb: %s: %s\n' "$helper" "$*" >&2
}

# Sets GBB_PORTAGE_PYTHON and _LIB, once: `python3` (on a stage3 python-exec's choice, which
# has Portage), else the newest interpreter that imports Portage. The probe is the `libdir`
# question itself, so finding the interpreter and reading the profile take one Python start
# (Portage is slow to load); both are exported, so `gbb shell`'s second set-up asks nothing.
gbb_find_portage_python() {
    [[ -n ${GBB_PORTAGE_PYTHON:-} ]] && return 0
    local python libdir
    for python in python3 $(compgen -c python3. | sort -t. -k2 -n -r | uniq); do
        if libdir=$(gbb_portage_with "$python" libdir 2>/dev/null); then
            export GBB_PORTAGE_PYTHON=$python _LIB=${libdir:-lib}
            return 0
        fi
    done
    gbb_helper_error gbb "no Python interpreter with Portage found"
    return 1
}

# gbb_portage COMMAND ARGS...: what the helpers ask Portage itself, through its Python API
# (the same Portage emerge runs; one interpreter for a whole list of atoms):
#   libdir                  the profile's LIBDIR_<ARCH> (kubler's _LIB)
#   provide ATOM...         for each argument the CPV to write into package.provided: a CPV
#                           as it is, an atom as its best visible version (what emerge would
#                           install); a warning on stderr for an atom with none
#   unprovide FILE ATOM...  drops the lines of FILE that are the CPV or match the atom
#   installed ATOM          the best installed version in the builder
#   global-updates          Portage's global updates for ROOT, recorded in its mtimedb
#   sources DIR CPV::REPO...  for gbb_record_pkgdb: each package's SRC_URI as its ebuild in
#                           REPO has it (var/db/pkg keeps none) into DIR/pkg/CPV/SRC_URI, and
#                           the Manifest of the ebuild's folder into DIR/pkg/CPV/Manifest;
#                           nothing for a package no longer in its repository
gbb_portage() {
    gbb_find_portage_python || return 1
    gbb_portage_with "${GBB_PORTAGE_PYTHON}" "$@"
}

# gbb_portage_with PYTHON COMMAND ARGS...: gbb_portage with the interpreter given; fails when
# PYTHON cannot import Portage.
gbb_portage_with() {
    local python=$1
    shift
    "$python" - "$@" <<'PYTHON'
import sys

import portage
from portage.dep import Atom, match_from_list
from portage.exception import InvalidAtom
from portage.versions import catpkgsplit


def as_cpv(text):
    """The CPV `text` names (`cat/pkg-1.0` or `=cat/pkg-1.0`), or None for any other atom."""
    plain = text[1:] if text.startswith("=") and not text.startswith("==") else text
    if any(c in plain for c in "<>=~*:[") or catpkgsplit(plain) is None:
        return None
    return plain


def atom(text):
    try:
        return Atom(text, allow_repo=True)
    except InvalidAtom:
        return None


command, args = sys.argv[1], sys.argv[2:]
if command == "libdir":
    settings = portage.settings
    print(settings.get("LIBDIR_" + settings.get("ARCH", ""), ""))
elif command == "provide":
    tree = portage.db[portage.root]["porttree"].dbapi
    status = 0
    for arg in args:
        cpv = as_cpv(arg)
        if cpv is None:
            parsed = atom(arg)
            if parsed is None:
                print(f"gbb: `{arg}` is neither a package atom nor a CPV", file=sys.stderr)
                status = 1
                continue
            cpv = tree.xmatch("bestmatch-visible", parsed)
            if not cpv:
                print(
                    f"gbb: provide_package: no version of `{arg}` is visible to Portage (unknown or masked), so none is provided",
                    file=sys.stderr,
                )
                continue
        print(cpv)
    sys.exit(status)
elif command == "unprovide":
    path, wanted = args[0], args[1:]
    with open(path, encoding="utf-8") as file:
        lines = file.read().splitlines()
    kept = []
    for line in lines:
        entry = line.strip()
        drop = False
        for arg in wanted:
            cpv = as_cpv(arg)
            if cpv is not None:
                drop = entry == cpv
            else:
                parsed = atom(arg)
                drop = (
                    parsed is not None
                    and catpkgsplit(entry) is not None
                    and bool(match_from_list(parsed.without_repo, [entry]))
                )
            if drop:
                break
        if not drop:
            kept.append(line)
    with open(path + ".gbb-tmp", "w", encoding="utf-8") as file:
        file.write("".join(line + "\n" for line in kept))
    import os

    os.replace(path + ".gbb-tmp", path)
elif command == "sources":
    import os
    import shutil

    stage, tree = args[0], portage.db[portage.root]["porttree"].dbapi
    for arg in args[1:]:
        cpv, _, repo = arg.partition("::")
        try:
            ebuild = tree.findname(cpv, myrepo=repo or None)
            (src_uri,) = tree.aux_get(cpv, ["SRC_URI"], myrepo=repo or None)
        except (KeyError, portage.exception.PortageException):
            continue
        out = os.path.join(stage, "pkg", cpv)
        with open(os.path.join(out, "SRC_URI"), "w", encoding="utf-8") as file:
            file.write(src_uri + "\n")
        manifest = os.path.join(os.path.dirname(ebuild), "Manifest") if ebuild else ""
        if os.path.isfile(manifest):
            shutil.copyfile(manifest, os.path.join(out, "Manifest"))
elif command == "global-updates":
    from portage._global_updates import _global_updates

    # emerge's own call (_emerge/actions.py, run_action), for / alone.
    mtimedb = portage.mtimedb
    _global_updates(portage.root, portage.db, mtimedb["updates"], quiet=True)
    mtimedb.commit()
elif command == "installed":
    matches = portage.db[portage.root]["vartree"].dbapi.match(args[0])
    if not matches:
        sys.exit(1)
    print(portage.best(matches))
else:
    sys.exit(f"unknown command {command}")
PYTHON
}

# gbb_package_setting FILE ATOM VALUE...: a line `ATOM VALUE...` in FILE, with kubler's
# leading `+` (meaning "add") taken off each value.
gbb_package_setting() {
    local file=$1 atom=$2 value
    shift 2
    local -a values=()
    for value in "$@"; do
        values+=("${value#+}")
    done
    printf '%s %s\n' "$atom" "${values[*]}" >>"$file"
}

# gbb_flaggie HELPER KIND ARGS...: kubler's update_use/update_keywords, which wrap flaggie:
# leading arguments that are not flags are package atoms (none: every package, `*/*`); flags
# are `+flag`, `flag`, `-flag`, and `+use::flag` or `+kw::~amd64` to name the kind.
gbb_flaggie() {
    local helper=$1 kind=$2
    shift 2
    local -a atoms=() use=() keywords=()
    while (( $# )) && [[ $1 != [-+%]* && $1 != *::* ]]; do
        atoms+=("$1")
        shift
    done
    (( ${#atoms[@]} )) || atoms=('*/*')
    local arg sign flag
    for arg in "$@"; do
        sign=${arg:0:1}
        flag=${arg#[-+%]}
        [[ $sign == [-+%] ]] || sign=+
        if [[ $sign == % ]]; then
            gbb_helper_error "$helper" "flaggie's reset syntax (\`$arg\`) is not supported; edit the setting instead"
            return 1
        fi
        case $flag in
            use::*) use+=("${sign/+/}${flag#use::}") ;;
            kw::*) keywords+=("${sign/+/}${flag#kw::}") ;;
            *)
                if [[ $kind == use ]]; then
                    use+=("${sign/+/}${flag}")
                else
                    keywords+=("${sign/+/}${flag}")
                fi
                ;;
        esac
    done
    local atom
    for atom in "${atoms[@]}"; do
        (( ${#use[@]} )) && gbb_package_setting /etc/portage/package.use/gbb "$atom" "${use[@]}"
        (( ${#keywords[@]} )) \
            && gbb_package_setting /etc/portage/package.accept_keywords/gbb "$atom" "${keywords[@]}"
    done
    return 0
}

# update_use [ATOM...] FLAG...: set USE flags for packages (`+flag`, `flag` or `-flag`), or
# for every package without an atom.
update_use() {
    gbb_flaggie update_use use "$@"
}

# update_keywords [ATOM...] KEYWORD...: accept keywords for packages (`+~amd64`, `**`).
update_keywords() {
    gbb_flaggie update_keywords kw "$@"
}

# mask_package ATOM / unmask_package ATOM
mask_package() {
    printf '%s\n' "$1" >>/etc/portage/package.mask/gbb
}

unmask_package() {
    printf '%s\n' "$1" >>/etc/portage/package.unmask/gbb
}

# unmask_use ATOM FLAG...: unmask USE flags the profile masks for a package (kubler writes
# `ATOM -FLAG` into the user's profile package.use.mask; give the flag without its dash).
unmask_use() {
    local atom=$1 flag
    shift
    (( $# )) || { gbb_helper_error unmask_use "usage: unmask_use ATOM FLAG..."; return 1; }
    for flag in "$@"; do
        printf '%s -%s\n' "$atom" "${flag#-}" >>/etc/portage/profile/package.use.mask
    done
}

# provide_package ATOM...: tell Portage these are installed (they come from a parent image, or
# are not wanted). An atom (`sys-devel/gcc`) is written as the version emerge would install
# (package.provided takes versions only); a CPV (`sys-devel/gcc-13.2.0`) as it is.
provide_package() {
    (( $# )) || return 0
    local file=/etc/portage/profile/package.provided cpvs cpv
    touch "$file"
    cpvs=$(gbb_portage provide "$@") || { gbb_helper_error provide_package "see the line above"; return 1; }
    while IFS= read -r cpv; do
        [[ -n $cpv ]] || continue
        grep -q -F -x -e "$cpv" "$file" || printf '%s\n' "$cpv" >>"$file"
    done <<<"$cpvs"
}

# unprovide_package ATOM...: take packages out of package.provided again (an atom takes
# every version it matches, a CPV that version), so this image installs them itself.
unprovide_package() {
    (( $# )) || return 0
    local file=/etc/portage/profile/package.provided
    [[ -f $file ]] || return 0
    gbb_portage unprovide "$file" "$@"
}

# uninstall_package ATOM...: unmerge packages from ROOT (the image's root in the rootfs hooks,
# the builder in configure_builder), as kubler's `emerge -C`.
uninstall_package() {
    emerge --unmerge --color=n "$@"
}

# is_installed_overlay NAME: whether Portage knows a repository of that name (status 0), or
# not (3, as in kubler).
is_installed_overlay() {
    local name=$1 repo
    for repo in $(portageq get_repos / 2>/dev/null); do
        [[ $repo == "$name" ]] && return 0
    done
    return 3
}

# add_overlay NAME [URL|PATH] [MODE]: an ebuild repository for the next emerges. A URL is
# synced into /var/db/repos/NAME with Portage's own sync (MODE git by default, so
# `add_overlay kubler https://github.com/edannenberg/kubler-overlay.git` clones it); a folder
# (mounted with BUILDER_MOUNTS, for instance) is used where it is. Without either, NAME is
# enabled from Gentoo's list with eselect-repository, as kubler does. A repository already
# known is left alone.
add_overlay() {
    local name=$1 source=${2:-} mode=${3:-git}
    [[ -n $name ]] || { gbb_helper_error add_overlay "usage: add_overlay NAME [URL|PATH] [git]"; return 1; }
    is_installed_overlay "$name" && return 0
    local conf=/etc/portage/repos.conf/${name}.conf
    if [[ -z $source ]]; then
        if ! command -v eselect >/dev/null || ! eselect repository list >/dev/null 2>&1; then
            gbb_helper_error add_overlay "\`$name\` without a URL needs app-eselect/eselect-repository in the builder; give the URL or a folder"
            return 1
        fi
        eselect repository enable "$name"
        emaint sync --repo "$name"
    elif [[ $source == *://* || $source == git@* ]]; then
        local location=/var/db/repos/${name}
        printf '[%s]\nlocation = %s\nsync-type = %s\nsync-uri = %s\nauto-sync = yes\n' \
            "$name" "$location" "$mode" "$source" >"$conf"
        if ! emaint sync --repo "$name"; then
            rm -f "$conf"
            gbb_helper_error add_overlay "could not sync \`$name\` from $source"
            return 1
        fi
    elif [[ -d $source ]]; then
        printf '[%s]\nlocation = %s\nauto-sync = no\n' "$name" "$source" >"$conf"
    else
        gbb_helper_error add_overlay "\`$source\` is neither a URL nor a folder"
        return 1
    fi
}

# download_file URL [NAME] [CURL_ARGS...]: fetch URL into the distfiles cache as NAME (default:
# the URL's last part; an empty NAME too) unless it is there already. Sets the global
# __download_file to the file's path and prints it. The download goes to a temporary name: a
# failed or interrupted one leaves nothing behind.
download_file() {
    __download_file=
    local url=$1 name=${2:-}
    shift
    (( $# )) && shift
    [[ -n $name ]] || name=${url##*/}
    name=${name%%\?*}
    if [[ -z $url || -z $name || $name == */* ]]; then
        gbb_helper_error download_file "usage: download_file URL [NAME] [curl args...] (NAME a file name)"
        return 1
    fi
    local target=${DISTDIR:-${GBB_DISTFILES}}/${name}
    if [[ ! -f $target ]]; then
        local partial=${target}.gbb-part.$$ status=0
        # shellcheck disable=SC2064 # the path is fixed now, on purpose
        trap "rm -f '${partial}'" EXIT
        if command -v curl >/dev/null; then
            curl -fsSL "$@" --output "$partial" "$url" || status=$?
        elif (( $# == 0 )) && command -v wget >/dev/null; then
            wget -q -O "$partial" "$url" || status=$?
        else
            gbb_helper_error download_file "needs curl (extra arguments are curl's)"
            status=1
        fi
        if (( status )); then
            rm -f "$partial"
            trap - EXIT
            gbb_helper_error download_file "could not download $url (status $status); nothing was kept"
            return 1
        fi
        mv "$partial" "$target"
        trap - EXIT
    fi
    __download_file=$target
    printf '%s\n' "$target"
}

# add_patch ATOM URL|FILE [NAME]: a patch Portage applies to the package (a user patch in
# /etc/portage/patches/ATOM); a URL is downloaded (download_file), a file is taken from the
# image folder when its path is relative. NAME defaults to the last part, `.patch` added
# unless it ends in .patch or .diff.
add_patch() {
    local atom=$1 source=$2 name=${3:-}
    if [[ -z $atom || -z $source ]]; then
        gbb_helper_error add_patch "usage: add_patch ATOM URL|FILE [NAME]"
        return 1
    fi
    [[ -n $name ]] || name=${source##*/}
    [[ $name == *.patch || $name == *.diff ]] || name+=.patch
    local dir=/etc/portage/patches/${atom}
    mkdir -p "$dir"
    if [[ $source == *://* ]]; then
        download_file "$source" "$name" >/dev/null || return 1
        cp "${__download_file}" "${dir}/${name}"
    else
        [[ $source == /* ]] || source=${_CONFIG}/${source}
        if [[ ! -f $source ]]; then
            gbb_helper_error add_patch "no patch file \`$source\`"
            return 1
        fi
        cp "$source" "${dir}/${name}"
    fi
}

# fix_portage_profile_symlink [TREE]: point /etc/portage/make.profile at the same profile in
# TREE (default ${GBB_PORTAGE}, where gbb mounts the portage tree), for a stage3 whose
# link names the old /usr/portage.
fix_portage_profile_symlink() {
    local tree=${1:-${GBB_PORTAGE}} profile
    profile=$(readlink -m /etc/portage/make.profile)
    profile=${profile#/usr/portage/}
    profile=${profile#/var/db/repos/gentoo/}
    if [[ ! -d ${tree}/${profile} ]]; then
        gbb_helper_error fix_portage_profile_symlink "no profile \`${profile}\` in ${tree}"
        return 1
    fi
    rm -f /etc/portage/make.profile
    ln -sr "${tree}/${profile}" /etc/portage/make.profile
    printf 'gbb: make.profile now points at %s\n' "${tree}/${profile}"
}

# gbb_copy_libs HELPER LIB...: copies the named run-time libraries of the builder's compiler
# into the image's library folder (kubler's "${_EMERGE_ROOT}/${_LIB}").
gbb_copy_libs() {
    local helper=$1 lib path
    shift
    mkdir -p "${EMERGE_ROOT}/${_LIB}"
    for lib in "$@"; do
        path=$(gcc -print-file-name="$lib" 2>/dev/null || true)
        if [[ $path != /* || ! -e $path ]]; then
            path=$(find /usr/lib /usr/lib64 -name "$lib" 2>/dev/null | sort | head -n 1)
        fi
        if [[ -z $path ]]; then
            gbb_helper_error "$helper" "the builder has no ${lib}"
            return 1
        fi
        cp -L "$path" "${EMERGE_ROOT}/${_LIB}/${lib}"
        # Installed without Portage: listed in PACKAGES.md and the SBOM, with its place.
        log_as_installed "$helper" "$lib" "/${_LIB}/${lib}"
    done
}

# copy_gcc_libs: gcc's run-time libraries (libgcc_s, libstdc++, libgomp) into the image, for
# programs built with gcc whose image has no gcc.
copy_gcc_libs() {
    gbb_copy_libs copy_gcc_libs libgcc_s.so.1 libgomp.so.1 libstdc++.so.6
}

# copy_gfortran_libs: gfortran's run-time libraries (libgfortran, libquadmath).
copy_gfortran_libs() {
    gbb_copy_libs copy_gfortran_libs libgfortran.so.5 libquadmath.so.0
}

# log_as_installed GROUP NAME INFO: list something installed without Portage in PACKAGES.md
# (`log_as_installed "manual install" "adminer-4.8" "https://www.adminer.org/"`).
log_as_installed() {
    printf '*%s*: %s\t%s\t\n' "${1:-}" "${2:-}" "${3:-}" >>"${GBB_OUT}/extra-installed.tsv"
}

# init_docs, generate_doc_package_installed, generate_package_installed,
# generate_documentation_footer: kubler's PACKAGES.md bookkeeping. gbb writes PACKAGES.md
# itself from what every image of the chain installed, so there is nothing for them to do.
init_docs() { :; }
generate_doc_package_installed() { :; }
generate_package_installed() { :; }
generate_documentation_footer() { :; }

# write_checkbox_line LABEL CHECKED FILE [NEGATE]: a markdown checkbox line appended to FILE.
write_checkbox_line() {
    local label=$1 checked=$2 file=$3 negate=${4:-} state=1
    [[ -z $checked || $checked == false ]] && state=0
    [[ -n $negate ]] && state=$(( 1 - state ))
    mkdir -p "$(dirname "$file")"
    if (( state )); then
        printf -- '- [x] %s\n' "$label" >>"$file"
    else
        printf -- '- [ ] %s\n' "$label" >>"$file"
    fi
}

# die MESSAGE [STATUS]: kubler's way to stop the build with a message.
die() {
    printf 'fatal: %s\n' "$1" >&2
    exit "${2:-1}"
}

# get_package_version ATOM: sets __get_package_version to the version of ATOM installed in
# the builder (kubler asks equery).
get_package_version() {
    __get_package_version=$(ROOT=/ gbb_portage installed "$1") \
        || die "could not find an installed version of $1"
}

# get_file_mod_stamp PATH: sets __get_file_mod_stamp to PATH's modification time (seconds).
get_file_mod_stamp() {
    __get_file_mod_stamp=$(stat -c %Y "$1")
}

# copy_from_builder_if_changed PATH STAMP: copies PATH from the builder into the image when it
# was modified after STAMP.
copy_from_builder_if_changed() {
    get_file_mod_stamp "$1"
    if (( $2 < __get_file_mod_stamp )); then
        mkdir -p "$(dirname "${EMERGE_ROOT}/$1")"
        cp -f "$1" "${EMERGE_ROOT}/$1"
    fi
}

# ---- kubler and gentoo-bb features gbb does not have --------------------------------------
# Each says so in one line and fails, so that an image is never built without what its
# build.sh asked for. `gbb check` lists the same names.

# gbb_unsupported NAME WHY: the line.
gbb_unsupported() {
    gbb_helper_error "$1" "not supported by gbb: $2"
    return 1
}

download_from_oracle() {
    gbb_unsupported download_from_oracle "Oracle's licence-cookie downloads are gone; download the file yourself and use download_file with a file:// URL"
}

install_git_postsync_hooks() {
    gbb_unsupported install_git_postsync_hooks "gbb mounts the portage tree read-only and never syncs it in a builder"
}

install_oci_deps() {
    gbb_unsupported install_oci_deps "acbuild and acserver (appc) are dead projects"
}

install_docker_gen() {
    gbb_unsupported install_docker_gen "the seed's pinned docker-gen 0.7.3 download; fetch the release you want with download_file"
}

install_gosu() {
    gbb_unsupported install_gosu "the seed's pinned gosu 1.10 download; fetch the release you want with download_file"
}

install_suexec() {
    gbb_unsupported install_suexec "the seed's su-exec build from GitHub; emerge app-admin/su-exec instead"
}

# gbb_refuse_unsupported_settings: the seed's build.sh switches gbb does not have, refused
# before anything is built; flaggie's options are ignored (gbb writes package.use itself).
gbb_refuse_unsupported_settings() {
    if [[ -n ${INSTALL_DOCKER_GEN:-} ]]; then
        install_docker_gen
        return 1
    fi
    if [[ ${BOB_PACKAGE_CONFIG_DIFF} != false || ${BOB_PACKAGE_CONFIG_STRICT} != true ]]; then
        printf 'gbb: BOB_PACKAGE_CONFIG_DIFF and BOB_PACKAGE_CONFIG_STRICT are flaggie options; gbb writes package.use without flaggie and ignores them\n' >&2
    fi
    return 0
}
