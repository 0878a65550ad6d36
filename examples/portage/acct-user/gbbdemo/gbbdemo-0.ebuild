# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit acct-user

KEYWORDS="amd64"
ACCT_USER_ID=4501
ACCT_USER_GROUPS=( gbbdemo )
ACCT_USER_HOME=/var/lib/gbbdemo
ACCT_USER_COMMENT="gentoo-bb demo user"

acct-user_add_deps
