# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit acct-group

KEYWORDS="amd64"
ACCT_GROUP_ID=4502
