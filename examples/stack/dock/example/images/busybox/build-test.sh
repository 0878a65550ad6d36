#!/bin/sh
# Run by gbb inside the new image before its tags move: the image is usable.
set -e
test -x /bin/busybox
echo works | busybox grep -q works
