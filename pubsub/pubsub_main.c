/*
 * pubsub_main: the `pubsub` binary, Cloud Pub/Sub v1 on port base + 2. Run `pubsub --help`
 * for flags.
 */
#include "pubsub_service.h"

int main(int argc, char **argv)
{
    return em_service_main(&pubsub_service, argc, argv);
}
