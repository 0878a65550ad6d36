#
# Build script of `example/greet`, sourced inside the build container.
#
_packages="app-misc/greet"

configure_rootfs_build()
{
    :
}

finish_rootfs_build()
{
    :
}
