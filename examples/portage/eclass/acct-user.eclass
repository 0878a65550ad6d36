# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

# @ECLASS: acct-user.eclass
# @SUPPORTED_EAPIS: 8
# @BLURB: A system user that exists once the package is merged.
# @DESCRIPTION:
# Our stand-in for Gentoo's acct-user eclass, written for the example tree: it behaves the way
# the real one does where gentoo-bb's builds can tell the difference. A package
# `acct-user/NAME` sets ACCT_USER_ID and ACCT_USER_GROUPS (and optionally the home, shell and
# comment), inherits this eclass and calls acct-user_add_deps; the user is called NAME.
#
# The user is made in pkg_preinst with useradd, with `--prefix "${ROOT}"` when merging into
# another root than / (gentoo-bb's `emerge --root=/emerge-root`), so it lands in that root's
# account files. Its home folder is part of the package and owned by the user (numeric ids
# looked up in ROOT, as the names may not resolve in the builder). pkg_postinst brings an
# account that existed before up to date with usermod (home, shell, groups, comment); one
# pkg_preinst just made is left alone (Portage keeps the phases' variables from one to the next).

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI} unsupported" ;;
esac

if [[ -z ${_ACCT_USER_ECLASS} ]]; then
_ACCT_USER_ECLASS=1

# @ECLASS_VARIABLE: ACCT_USER_NAME
# @DESCRIPTION:
# The user's name: the package's name.
ACCT_USER_NAME=${PN}

# @ECLASS_VARIABLE: ACCT_USER_ID
# @REQUIRED
# @DESCRIPTION:
# The user's numeric id.
: "${ACCT_USER_ID:=}"

# @ECLASS_VARIABLE: ACCT_USER_GROUPS
# @REQUIRED
# @DESCRIPTION:
# The user's groups (an array), the primary group first; each is an acct-group package.

# @ECLASS_VARIABLE: ACCT_USER_HOME
# @DESCRIPTION:
# The home folder; /dev/null for none.
: "${ACCT_USER_HOME:=/dev/null}"

# @ECLASS_VARIABLE: ACCT_USER_HOME_PERMS
# @DESCRIPTION:
# The home folder's mode.
: "${ACCT_USER_HOME_PERMS:=0755}"

# @ECLASS_VARIABLE: ACCT_USER_SHELL
# @DESCRIPTION:
# The login shell.
: "${ACCT_USER_SHELL:=/sbin/nologin}"

# @ECLASS_VARIABLE: ACCT_USER_COMMENT
# @DESCRIPTION:
# The GECOS field.
: "${ACCT_USER_COMMENT:=}"

DESCRIPTION="System user: ${ACCT_USER_NAME}"
SLOT="0"
S=${WORKDIR}

# @FUNCTION: acct-user_add_deps
# @DESCRIPTION:
# Makes the user's groups runtime dependencies; call it after setting ACCT_USER_GROUPS.
acct-user_add_deps() {
	[[ ${#ACCT_USER_GROUPS[@]} -gt 0 ]] || die "${PN}: ACCT_USER_GROUPS is empty"
	local group
	for group in "${ACCT_USER_GROUPS[@]}"; do
		RDEPEND+=" acct-group/${group}"
	done
	_ACCT_USER_DEPS_ADDED=1
}

# @FUNCTION: _acct_user_field
# @USAGE: <passwd|group> <name> <field>
# @INTERNAL
# @DESCRIPTION:
# Prints one field of the named entry of ${ROOT}/etc/<db> (getent cannot look into another root).
_acct_user_field() {
	awk -F: -v name="$2" -v field="$3" '$1 == name { print $field }' "${ROOT}/etc/$1" 2>/dev/null
}

# The options useradd and usermod share, in the short forms both know: home (-d), shell (-s),
# primary group (-g), comment (-c), other groups (-G) and the root to work in (-P).
_acct_user_account_opts() {
	local -a groups=( "${ACCT_USER_GROUPS[@]}" )
	_ACCT_USER_OPTS=(
		-d "${ACCT_USER_HOME}"
		-s "${ACCT_USER_SHELL}"
		-g "${groups[0]}"
		-c "${ACCT_USER_COMMENT}"
	)
	if [[ ${#groups[@]} -gt 1 ]]; then
		local IFS=,
		_ACCT_USER_OPTS+=( -G "${groups[*]:1}" )
	fi
	[[ -n ${ROOT} ]] && _ACCT_USER_OPTS+=( -P "${ROOT}" )
	return 0
}

acct-user_pkg_pretend() {
	[[ ${_ACCT_USER_DEPS_ADDED} ]] || die "${CATEGORY}/${PN} does not call acct-user_add_deps"
	[[ ${ACCT_USER_ID} =~ ^[0-9]+$ ]] \
		|| die "${CATEGORY}/${PN}: ACCT_USER_ID must be a number, not \`${ACCT_USER_ID}\`"
}

acct-user_src_install() {
	insinto /usr/lib/sysusers.d
	newins - "${CATEGORY}-${ACCT_USER_NAME}.conf" \
		<<<"u ${ACCT_USER_NAME} ${ACCT_USER_ID}:${ACCT_USER_GROUPS[0]} \"${ACCT_USER_COMMENT}\" ${ACCT_USER_HOME} ${ACCT_USER_SHELL}"
	[[ ${ACCT_USER_HOME} == /dev/null ]] || keepdir "${ACCT_USER_HOME}"
}

acct-user_pkg_preinst() {
	unset _ACCT_USER_NEW
	if [[ -n $(_acct_user_field passwd "${ACCT_USER_NAME}" 1) ]]; then
		elog "User ${ACCT_USER_NAME} exists already; pkg_postinst updates it"
	else
		_acct_user_account_opts
		elog "Adding user ${ACCT_USER_NAME} (${ACCT_USER_ID})"
		useradd --system --no-create-home --no-user-group --uid "${ACCT_USER_ID}" \
			"${_ACCT_USER_OPTS[@]}" "${ACCT_USER_NAME}" || die "useradd ${ACCT_USER_NAME} failed"
		_ACCT_USER_NEW=1
	fi
	if [[ ${ACCT_USER_HOME} != /dev/null ]]; then
		local uid gid
		uid=$(_acct_user_field passwd "${ACCT_USER_NAME}" 3)
		gid=$(_acct_user_field group "${ACCT_USER_GROUPS[0]}" 3)
		[[ -n ${uid} && -n ${gid} ]] \
			|| die "no id for ${ACCT_USER_NAME} or ${ACCT_USER_GROUPS[0]} in ${ROOT:-/}/etc"
		fowners "${uid}:${gid}" "${ACCT_USER_HOME}"
		fperms "${ACCT_USER_HOME_PERMS}" "${ACCT_USER_HOME}"
	fi
}

acct-user_pkg_postinst() {
	[[ -z ${_ACCT_USER_NEW} ]] || return 0
	_acct_user_account_opts
	elog "Updating user ${ACCT_USER_NAME}"
	usermod "${_ACCT_USER_OPTS[@]}" "${ACCT_USER_NAME}" || die "usermod ${ACCT_USER_NAME} failed"
}

fi

EXPORT_FUNCTIONS pkg_pretend src_install pkg_preinst pkg_postinst
