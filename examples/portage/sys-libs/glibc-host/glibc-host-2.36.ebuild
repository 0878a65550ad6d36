# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="The build root's C library and loader, for images of dynamic programs"
HOMEPAGE="https://www.gnu.org/software/libc/"
S="${WORKDIR}"

LICENSE="LGPL-2.1+"
SLOT="0"
KEYWORDS="amd64"

# A stand-in for sys-libs/glibc on the test build root: it copies the C library the build root
# runs on (Debian's) instead of building one.
src_install() {
	local lib
	dodir /lib/x86_64-linux-gnu /lib64
	for lib in libc.so.6 libm.so.6; do
		cp -L "/lib/x86_64-linux-gnu/${lib}" "${ED}/lib/x86_64-linux-gnu/${lib}" || die
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "${ED}/lib64/ld-linux-x86-64.so.2" || die
}
