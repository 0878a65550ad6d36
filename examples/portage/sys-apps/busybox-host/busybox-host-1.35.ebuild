# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="The build root's static busybox, with /bin/sh: a shell for small images"
HOMEPAGE="https://busybox.net/"
S="${WORKDIR}"

LICENSE="GPL-2"
SLOT="0"
KEYWORDS="amd64"

# A stand-in for sys-apps/busybox on the test build root (Debian's busybox-static), the way
# sys-libs/glibc-host stands in for glibc.
src_install() {
	into /
	dobin /bin/busybox
	local applet
	for applet in sh ls cat echo test mkdir rm; do
		dosym busybox "/bin/${applet}"
	done
}
