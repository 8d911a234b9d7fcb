/*
 * runner_main: the `runner` binary, the Dataflow API (v1b3) on port base + 5. Run
 * `runner --help` for flags.
 */
#include "runner_service.h"

int main(int argc, char **argv)
{
    return em_service_main(&runner_service, argc, argv);
}
