#
# Build script of `example/busybox`, sourced inside the build container.
#
_packages="sys-apps/busybox-host"
