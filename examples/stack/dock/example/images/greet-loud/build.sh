#
# Build script of `example/greet-loud`, sourced inside the build container.
#
_packages="app-misc/greet-loud"

configure_rootfs_build()
{
    :
}

finish_rootfs_build()
{
    :
}
