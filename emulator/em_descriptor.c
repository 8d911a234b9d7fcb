/*
 * em_descriptor: em_services[], built from services.def (see em_descriptor.h).
 */
#include "em_descriptor.h"

#include <string.h>

#define EM_SERVICE(name) &name##_descriptor,
const struct em_service_desc *const em_services[] = {
    &control_descriptor,
#include "services.def"
    NULL,
};
#undef EM_SERVICE

const struct em_service_desc *em_service_desc_find(const char *name)
{
    for (size_t i = 0; em_services[i]; i++)
        if (strcmp(em_services[i]->name, name) == 0)
            return em_services[i];
    return NULL;
}
