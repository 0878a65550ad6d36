#
# Build script of `example/hello`, sourced inside the build container.
#
_packages="app-misc/hello-static"

configure_rootfs_build()
{
    :
}

finish_rootfs_build()
{
    :
}
