# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="Generates the greeting header of app-misc/greet (build-only test tool)"
HOMEPAGE="https://example.org/gentoo-bb"
S="${WORKDIR}"

LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_install() {
	newbin - greet-gen <<-'EOF'
	#!/bin/sh
	# greet-gen GREETING: a C header defining GREETING.
	printf '#define GREETING "%s"\n' "$1"
	EOF
}
