# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="A tiny greeting library (test package)"
HOMEPAGE="https://example.org/gentoo-bb"
S="${WORKDIR}"

LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_unpack() {
	cp "${FILESDIR}"/greet.c "${FILESDIR}"/greet.h "${S}"/ || die
}

src_compile() {
	${CC:-gcc} ${CFLAGS} -fPIC -shared -Wl,-soname,libgreet.so.1 -o libgreet.so.1 greet.c || die
}

src_install() {
	exeinto /usr/lib
	doexe libgreet.so.1
	dosym libgreet.so.1 /usr/lib/libgreet.so
	insinto /usr/include
	doins greet.h
}
