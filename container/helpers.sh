# shellcheck shell=bash
# gentoo-bb's in-container library: the environment of a build, the steps of phase 1, and the
# helpers users call from their build.sh hooks (update_use, provide_package, ...).
#
# Helper names and arguments follow kubler's, so existing build.sh files work unchanged.

EMERGE_ROOT=${EMERGE_ROOT:-/emerge-root}
# kubler's name for the same folder.
_EMERGE_ROOT=${EMERGE_ROOT}
GBB_OUT=${GBB_OUT:-/gbb-out}
GBB_STEP=setup
export EMERGE_ROOT _EMERGE_ROOT

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
    export PKGDIR=/packages DISTDIR=/distfiles
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
    gbb_binpkg_setup
}

# ---- binary packages -------------------------------------------------------------------
# The cache of this builder chain is mounted read-only at GBB_BINPKG_CACHE; PKGDIR is a fresh,
# empty folder of this run. Before anything emerges, PKGDIR gets a symlink to every cached
# package and a Packages index of them (binpkg-index.py), and Portage is told to trust that
# index (it skips the symlinks when it scans). Portage reads cached packages through the links
# and writes each package it builds as a new file (binpkg-multi-instance gives it a build id
# of its own), so no cached file can be changed from here; after the run gbb moves the new
# regular files with valid names into the cache, never over a file already there.
GBB_BINPKG_CACHE=/var/cache/gbb/binpkgs
GBB_BINPKG_EXCLUDED=()

gbb_binpkg_setup() {
    FEATURES="${FEATURES:+${FEATURES} }pkgdir-index-trusted"
    export FEATURES
    # `gbb shell` sets up twice (gbb-build, then its start-up file): link once.
    [[ -z ${GBB_BINPKG_LINKED:-} ]] || return 0
    export GBB_BINPKG_LINKED=1
    [[ -d ${GBB_BINPKG_CACHE} ]] || return 0
    mkdir -p "${PKGDIR}"
    cp -rs "${GBB_BINPKG_CACHE}/." "${PKGDIR}/"
    gbb_binpkg_index
}

gbb_binpkg_index() {
    # An empty cache (a chain's first build) needs no index: Portage starts one itself.
    [[ -n $(find "${GBB_BINPKG_CACHE}" -type f -print -quit 2>/dev/null) ]] || return 0
    python3 "${GBB_LIB:-/usr/local/lib/gbb}/binpkg-index.py" "${GBB_BINPKG_CACHE}" "${PKGDIR}" \
        "${GBB_BINPKG_EXCLUDED[@]}"
}

# gbb_binpkg_exclude ATOM...: build these packages again instead of taking them from the
# cache (kubler's `_no_cache`); the new packages go into the cache next to the old ones.
gbb_binpkg_exclude() {
    GBB_BINPKG_EXCLUDED+=("$@")
    gbb_binpkg_index
}

gbb_load_build_script() {
    GBB_STEP=build.sh
    if [[ -f /config/build.sh ]]; then
        # shellcheck source=/dev/null
        source /config/build.sh
    fi
}

# Runs a hook when build.sh defines it (configure_builder also under its old name).
gbb_step() {
    local hook=$1 name=$1
    if [[ $hook == configure_builder ]] && ! declare -F configure_builder >/dev/null \
        && declare -F configure_bob >/dev/null; then
        name=configure_bob
    fi
    declare -F "$name" >/dev/null || return 0
    GBB_STEP=$name
    gbb_mark "step ${name}"
    if [[ $hook == configure_builder ]]; then
        "$name"
    else
        ROOT=${EMERGE_ROOT} "$name"
    fi
    GBB_STEP=between-steps
}

# The packages of this image: `_packages`, or the seed's PACKAGES.
gbb_package_list() {
    printf '%s\n' "${_packages:-${PACKAGES:-}}"
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
    # Into the empty root that becomes the image; binary packages are made (buildpkg) and
    # used when present, so a rebuild compiles only what changed.
    emerge --root="${EMERGE_ROOT}" --buildpkg --usepkg --binpkg-respect-use=y \
        --verbose --color=n --quiet-build=y "${packages[@]}"
    # Into the build container's own root too, from the binary packages just made, so that
    # images built in this kept state can compile and link against them.
    GBB_STEP=emerge-builder
    gbb_mark "step emerge-builder ${packages[*]}"
    emerge --usepkgonly --noreplace --binpkg-respect-use=y --color=n --quiet-build=y \
        "${packages[@]}"
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
            printf '%s\n' "$cpv" >>/etc/portage/profile/package.provided
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

# Removes what an image does not need at run time, unless build.sh keeps it
# (_keep_headers, _keep_static_libs, _keep_docs, _keep_pkg_db), and lists what went.
gbb_cleanup_rootfs() {
    GBB_STEP=cleanup
    local root=${EMERGE_ROOT}
    : >"${GBB_OUT}/purged.txt"
    gbb_purge() {
        local path
        for path in "$@"; do
            if [[ -e ${root}/${path} ]]; then
                printf '%s\n' "/${path}" >>"${GBB_OUT}/purged.txt"
                rm -rf "${root:?}/${path}"
            fi
        done
    }
    [[ -n ${_keep_headers:-} ]] || gbb_purge usr/include
    [[ -n ${_keep_docs:-} ]] || gbb_purge usr/share/doc usr/share/man usr/share/info usr/share/gtk-doc
    [[ -n ${_keep_pkg_db:-} ]] || gbb_purge var/db/pkg
    gbb_purge var/cache/edb var/lib/portage var/tmp/portage
    if [[ -z ${_keep_static_libs:-} ]]; then
        local lib
        while IFS= read -r -d '' lib; do
            printf '%s\n' "${lib#"${root}"}" >>"${GBB_OUT}/purged.txt"
            rm -f "$lib"
        done < <(find "$root" \( -name '*.a' -o -name '*.la' \) -type f -print0)
    fi
    GBB_STEP=between-steps
}

# The root as a reproducible tar: sorted names, numeric owners, times clamped to
# SOURCE_DATE_EPOCH; written under a temporary name and renamed when whole.
gbb_write_rootfs() {
    GBB_STEP=rootfs.tar
    gbb_mark "step rootfs.tar"
    local epoch=${SOURCE_DATE_EPOCH:-0}
    tar -C "${EMERGE_ROOT}" --numeric-owner --owner=0 --group=0 --sort=name \
        --mtime="@${epoch}" --clamp-mtime \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -cf "${GBB_OUT}/rootfs.tar.tmp" .
    mv "${GBB_OUT}/rootfs.tar.tmp" "${GBB_OUT}/rootfs.tar"
    # The kept builder state must not carry this image's files: a child's root starts empty.
    gbb_empty_root
    GBB_STEP=between-steps
}

gbb_empty_root() {
    find "${EMERGE_ROOT}" -mindepth 1 -delete
}

# ---- helpers for build.sh hooks --------------------------------------------------------

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

# update_use ATOM FLAG...: set USE flags for a package (`+flag`, `flag` or `-flag`).
update_use() {
    gbb_package_setting /etc/portage/package.use/gbb "$@"
}

# update_keywords ATOM KEYWORD...: accept keywords for a package (`+~amd64`, `**`).
update_keywords() {
    gbb_package_setting /etc/portage/package.accept_keywords/gbb "$@"
}

# mask_package ATOM / unmask_package ATOM
mask_package() {
    printf '%s\n' "$1" >>/etc/portage/package.mask/gbb
}

unmask_package() {
    printf '%s\n' "$1" >>/etc/portage/package.unmask/gbb
}

# provide_package CPV...: tell Portage these are installed (they come from elsewhere).
provide_package() {
    local cpv
    for cpv in "$@"; do
        printf '%s\n' "$cpv" >>/etc/portage/profile/package.provided
    done
}

# unprovide_package ATOM...: take packages out of package.provided again (matching lines
# that start with ATOM), so this image installs them itself.
unprovide_package() {
    local atom file=/etc/portage/profile/package.provided
    for atom in "$@"; do
        grep -v -F -x -e "$atom" "$file" | grep -v -e "^${atom}-[0-9]" >"${file}.tmp" || true
        mv "${file}.tmp" "$file"
    done
}

# uninstall_package ATOM...: remove packages from the image's root again.
uninstall_package() {
    emerge --root="${EMERGE_ROOT}" --unmerge --color=n "$@"
}

# add_overlay NAME PATH: use an ebuild repository in a local folder (mounted with
# BUILDER_MOUNTS, for instance).
add_overlay() {
    local name=$1 location=$2
    [[ -d $location ]] || gbb_fail "add_overlay: \`$location\` is not a folder"
    printf '[%s]\nlocation = %s\nauto-sync = no\n' "$name" "$location" \
        >"/etc/portage/repos.conf/${name}.conf"
}

# add_patch ATOM PATCH...: apply patches to a package (Portage's user patches).
add_patch() {
    local atom=$1
    shift
    local dir=/etc/portage/patches/${atom}
    mkdir -p "$dir"
    local patch
    for patch in "$@"; do
        [[ $patch == /* ]] || patch=/config/${patch}
        cp "$patch" "$dir/"
    done
}

# download_file URL [NAME]: fetch into the distfiles cache (once) and print the path.
download_file() {
    local url=$1 name=${2:-${1##*/}}
    local target=${DISTDIR:-/distfiles}/${name}
    if [[ ! -f $target ]]; then
        if command -v wget >/dev/null; then
            wget -q -O "${target}.part" "$url"
        elif command -v curl >/dev/null; then
            curl -fsSL -o "${target}.part" "$url"
        else
            python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
                "$url" "${target}.part"
        fi
        mv "${target}.part" "$target"
    fi
    printf '%s\n' "$target"
}

# copy_gcc_libs: gcc's run-time libraries (libgcc_s, libstdc++) into the image, for programs
# built with gcc whose image has no gcc.
copy_gcc_libs() {
    local lib path
    mkdir -p "${EMERGE_ROOT}/usr/lib64"
    for lib in libgcc_s.so.1 libstdc++.so.6; do
        path=$(gcc -print-file-name="$lib")
        if [[ -f $path ]]; then
            cp -L "$path" "${EMERGE_ROOT}/usr/lib64/${lib}"
            log_as_installed "copied" "$lib" "$(gcc -dumpversion)"
        fi
    done
}

# log_as_installed KIND NAME VERSION: list something installed by hand in PACKAGES.md.
log_as_installed() {
    printf '%s\t%s\t%s\n' "${1}:${2}-${3}" "" "" >>"${GBB_OUT}/extra-installed.tsv"
}
