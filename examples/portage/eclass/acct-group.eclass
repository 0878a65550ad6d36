# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

# @ECLASS: acct-group.eclass
# @SUPPORTED_EAPIS: 8
# @BLURB: A system group that exists once the package is merged.
# @DESCRIPTION:
# Our stand-in for Gentoo's acct-group eclass, written for the example tree: it behaves the way
# the real one does where gentoo-bb's builds can tell the difference. A package
# `acct-group/NAME` sets ACCT_GROUP_ID and inherits this eclass; the group is called NAME.
#
# The group is made in pkg_preinst with groupadd, with `--prefix "${ROOT}"` when merging into
# another root than / (gentoo-bb's `emerge --root=/emerge-root`), so it lands in that root's
# /etc/group, not in the builder's. A group of that name that exists already is kept as it is,
# with a warning when its id differs. Like the real eclass, a sysusers.d entry is installed too
# (named after the category as well: the user and the group of one name must not collide).

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI} unsupported" ;;
esac

if [[ -z ${_ACCT_GROUP_ECLASS} ]]; then
_ACCT_GROUP_ECLASS=1

# @ECLASS_VARIABLE: ACCT_GROUP_NAME
# @DESCRIPTION:
# The group's name: the package's name.
ACCT_GROUP_NAME=${PN}

# @ECLASS_VARIABLE: ACCT_GROUP_ID
# @REQUIRED
# @DESCRIPTION:
# The group's numeric id, set by the ebuild before inheriting.
: "${ACCT_GROUP_ID:=}"

DESCRIPTION="System group: ${ACCT_GROUP_NAME}"
SLOT="0"
S=${WORKDIR}

# @FUNCTION: _acct_group_entry
# @USAGE: <group name>
# @INTERNAL
# @DESCRIPTION:
# Prints the group's line of ${ROOT}/etc/group (getent cannot look into another root).
_acct_group_entry() {
	awk -F: -v name="$1" '$1 == name' "${ROOT}/etc/group" 2>/dev/null
}

acct-group_pkg_pretend() {
	[[ ${ACCT_GROUP_ID} =~ ^[0-9]+$ ]] \
		|| die "${CATEGORY}/${PN}: ACCT_GROUP_ID must be a number, not \`${ACCT_GROUP_ID}\`"
}

acct-group_src_install() {
	insinto /usr/lib/sysusers.d
	newins - "${CATEGORY}-${ACCT_GROUP_NAME}.conf" <<<"g ${ACCT_GROUP_NAME} ${ACCT_GROUP_ID}"
}

acct-group_pkg_preinst() {
	local existing
	existing=$(_acct_group_entry "${ACCT_GROUP_NAME}")
	if [[ -n ${existing} ]]; then
		local id
		id=$(cut -d: -f3 <<<"${existing}")
		[[ ${id} == "${ACCT_GROUP_ID}" ]] \
			|| ewarn "group ${ACCT_GROUP_NAME} exists with id ${id}, not ${ACCT_GROUP_ID}; kept as it is"
		return 0
	fi
	local -a opts=( --system --gid "${ACCT_GROUP_ID}" )
	[[ -n ${ROOT} ]] && opts+=( --prefix "${ROOT}" )
	elog "Adding group ${ACCT_GROUP_NAME} (${ACCT_GROUP_ID})"
	groupadd "${opts[@]}" "${ACCT_GROUP_NAME}" || die "groupadd ${ACCT_GROUP_NAME} failed"
}

fi

EXPORT_FUNCTIONS pkg_pretend src_install pkg_preinst
