/*
 * kms_main: the `kms` binary, Cloud KMS v1 on port base + 1. Run `kms --help` for flags.
 */
#include "kms_service.h"

int main(int argc, char **argv)
{
    return em_service_main(&kms_service, argc, argv);
}
