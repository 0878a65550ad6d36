#
# Build script of `example/greet-tools`, sourced inside the build container.
#
_packages="app-misc/greet-tools"

configure_rootfs_build()
{
    :
}

finish_rootfs_build()
{
    :
}
