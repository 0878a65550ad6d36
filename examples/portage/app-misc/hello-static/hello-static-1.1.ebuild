# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="A static C program: the smallest runnable image (test package)"
HOMEPAGE="https://example.org/gentoo-bb"
S="${WORKDIR}/${P}"

LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_unpack() {
	tar -xzf "${FILESDIR}/${P}.tar.gz" -C "${WORKDIR}" || die
}

src_compile() {
	${CC:-gcc} ${CFLAGS} -static -o hello hello.c || die
}

src_install() {
	into /
	dobin hello
}
