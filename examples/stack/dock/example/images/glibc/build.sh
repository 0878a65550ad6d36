#
# Build script of `example/glibc`, sourced inside the build container.
#
_packages="sys-libs/glibc-host"

configure_rootfs_build()
{
    :
}

finish_rootfs_build()
{
    :
}
