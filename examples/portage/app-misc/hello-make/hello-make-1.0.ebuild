# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="A static C program built with the default phases: make, awk, sed and perl (test package)"
HOMEPAGE="https://example.org/gentoo-bb"
S="${WORKDIR}/${P}"

LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

# No SRC_URI: the sources are in files/. Everything after unpacking is Portage's default
# src_compile (emake) and src_install (emake DESTDIR=... install), as in most real ebuilds.
src_unpack() {
	mkdir -p "${S}" || die
	cp "${FILESDIR}"/Makefile "${FILESDIR}"/hello-make.c "${S}"/ || die
}
