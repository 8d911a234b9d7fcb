/*
 * bin/emulator: the control plane (port base + 0). It starts and supervises one process
 * per service, owns the emulator clock and reset, and answers the Resource Manager and
 * Logging APIs gcloud needs (see control.h for the files and README, "The control plane").
 */
#include "control.h"

#include "em_service.h"

static const struct em_service_def control_def = {
    .desc = &control_descriptor,
    .routes = control_routes,
    .iam_resource_check = control_iam_resource_check,
    .open = control_open,
    .close = control_close,
    .reset = control_reset_state,
};

int main(int argc, char **argv)
{
    return em_service_main(&control_def, argc, argv);
}
