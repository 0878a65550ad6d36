#
# Build script of `example/greetlib`, sourced inside the build container.
#
_packages="dev-libs/libgreet"

configure_rootfs_build()
{
    :
}

finish_rootfs_build()
{
    :
}
