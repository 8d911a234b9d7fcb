/*
 * em_faults: faults the control plane injects, shared by every process through
 * metadata.db (table faults, owned here) and cached in memory.
 *
 *   kmsUnreachable   every service's calls to KMS (em_kms_client) fail as if the network
 *                    to KMS were down, exactly as when the KMS process is stopped. People
 *                    and tests can still call KMS directly (to enable a key during an
 *                    outage, say).
 *   ekmUnreachable   the simulated external key manager (em_ekm) cannot be reached: KMS's
 *                    calls with EXTERNAL and EXTERNAL_VPC key versions fail as Cloud EKM's
 *                    do when the EKM does not answer.
 *
 * The control plane writes the table and then asks each service to reload
 * (POST /emulator/v1/internal:faults); services also reload on every tick, so a service
 * started later sees the faults too.
 */
#ifndef EM_FAULTS_H
#define EM_FAULTS_H

#include "em_status.h"

#include <stdbool.h>

struct em_store;

enum em_code em_faults_open(struct em_store *store, struct em_status *st);
enum em_code em_faults_reload(struct em_store *store, struct em_status *st);

/* Control plane: sets the fault in the store (and in this process). */
enum em_code em_faults_set_kms_unreachable(struct em_store *store, bool on, struct em_status *st);

enum em_code em_faults_set_ekm_unreachable(struct em_store *store, bool on, struct em_status *st);

/* The cached values: cheap enough for every KMS call. */
bool em_faults_kms_unreachable(void);
bool em_faults_ekm_unreachable(void);

#endif
