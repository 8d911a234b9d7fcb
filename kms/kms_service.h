/*
 * kms_service: the Cloud KMS service as the core runtime sees it.
 */
#ifndef KMS_SERVICE_H
#define KMS_SERVICE_H

#include "em_service.h"

extern const struct em_service_def kms_service;

#endif
