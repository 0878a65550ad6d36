# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="A program that finds its library through \$ORIGIN (test package)"
HOMEPAGE="https://example.org/gentoo-bb"
S="${WORKDIR}"

LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_unpack() {
	cp "${FILESDIR}"/main.c "${FILESDIR}"/origin.c "${S}"/ || die
}

# The library is in the program's own tree, outside every folder the loader searches by
# default: only the run path `$ORIGIN/../lib` (relative to the program's folder) finds it.
src_compile() {
	${CC:-gcc} ${CFLAGS} -fPIC -shared -Wl,-soname,libhello-origin.so.1 \
		-o libhello-origin.so.1 origin.c || die
	${CC:-gcc} ${CFLAGS} -o hello-origin main.c ./libhello-origin.so.1 \
		-Wl,-rpath,'$ORIGIN/../lib' || die
}

src_install() {
	exeinto /opt/hello-origin/lib
	doexe libhello-origin.so.1
	exeinto /opt/hello-origin/bin
	doexe hello-origin
}
