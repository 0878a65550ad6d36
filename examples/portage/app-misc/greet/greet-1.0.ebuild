# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="Says hello through libgreet (test package)"
HOMEPAGE="https://example.org/gentoo-bb"
S="${WORKDIR}"

LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"
# Declared so that PACKAGES.md and the SBOM have a USE flag to show; the program has no
# translations.
IUSE="+nls"

DEPEND="dev-libs/libgreet"
RDEPEND="${DEPEND}"
BDEPEND="dev-util/greet-gen"

src_unpack() {
	cp "${FILESDIR}"/main.c "${S}"/ || die
}

src_compile() {
	greet-gen "Hello" > message.h || die
	${CC:-gcc} ${CFLAGS} -o greet main.c -L/usr/lib -lgreet -Wl,-rpath,/usr/lib || die
}

src_install() {
	dobin greet
}
