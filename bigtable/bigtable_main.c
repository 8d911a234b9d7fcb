/*
 * bigtable_main: the `bigtable` binary, Cloud Bigtable (admin v2 and data v2) on port
 * base + 3. Run `bigtable --help` for flags.
 */
#include "bigtable_service.h"

int main(int argc, char **argv)
{
    return em_service_main(&bigtable_service, argc, argv);
}
