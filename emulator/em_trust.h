/*
 * em_trust: the internal credential, how the emulator's own processes recognise each
 * other (README, "Identity, IAM and the audit log": between the emulator's own processes).
 *
 * The credential is 32 random bytes kept in <data dir>/internal.token (mode 0600), made
 * by whichever process of a stack opens the data directory first (the control plane,
 * before it starts any service; em_key_file makes it appear complete or not at all) and
 * read by every other one. It travels as one header, in hex:
 *
 *   X-Emulator-Internal: <64 hex digits>
 *
 * Calls between the processes carry it: the control plane's fan-out (internal:tick,
 * :reset, :flush, :keyChecks, :faults) and the CMEK engine's calls to KMS. Push
 * deliveries never do. Without it a request gets nothing internal: internal routes are
 * refused, service-agent principals are not accepted as tokens, and X-Emulator-Caller
 * is refused (em_dispatch). The value is never logged nor echoed in errors.
 */
#ifndef EM_TRUST_H
#define EM_TRUST_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>

#define EM_TRUST_HEADER    "X-Emulator-Internal"
#define EM_TRUST_FILE_NAME "internal.token"

/* Loads the credential of the stack whose data directory is data_dir (creating it when
 * this process is the first). The process keeps it until the next em_trust_open. */
enum em_code em_trust_open(const char *data_dir, struct em_status *st);

/* "X-Emulator-Internal: <hex>" for an HTTP client's header list, or NULL before
 * em_trust_open. */
const char *em_trust_header_line(void);

/* Whether a presented header value is this stack's credential (constant time; false
 * for NULL and before em_trust_open). */
bool em_trust_verify(const char *presented);

#endif
