#
# Builder `example/bob`.
#
configure_builder()
{
    :
}
