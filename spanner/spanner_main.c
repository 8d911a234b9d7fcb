/*
 * spanner_main: the `spanner` binary, Cloud Spanner v1 on port base + 4. Run
 * `spanner --help` for flags.
 */
#include "spanner_service.h"

int main(int argc, char **argv)
{
    return em_service_main(&spanner_service, argc, argv);
}
