/*
 * kms_kaj: Key Access Justifications (README, "Key Access Justifications").
 *
 * Every call that uses a key's material (encrypt, decrypt, sign, MAC, raw and asymmetric
 * decrypt) carries an access reason, google.cloud.kms.v1.AccessReason:
 *
 *   a client's own call                     CUSTOMER_INITIATED_ACCESS
 *   a service acting for a client's request CUSTOMER_INITIATED_ACCESS (em_kms_client.h)
 *   the CMEK engine on its own: key checks, GOOGLE_INITIATED_SYSTEM_OPERATION, as Google
 *     unwrapping after a restart, re-wrapping  describes key health checks
 *     after a rotation
 *
 * A key may carry a policy (keyAccessJustificationsPolicy.allowedAccessReasons): a call
 * whose reason the policy does not list is refused, an empty list refuses every call, no
 * policy allows all. Every such call's audit entry records its reason and whether a policy
 * was checked.
 *
 * Default policies (KeyAccessJustificationsPolicyConfig, "<parent>/kajPolicyConfig" of a
 * project, folder or organization; table kaj_policy_configs, owned here): a key created
 * without a policy gets the default of the nearest of its project, the project's folders
 * (upwards) and its organization that has one (em_iam_parent's hierarchy); a default
 * with an empty list allows all, so such a key gets no policy. Existing keys keep theirs.
 *
 * A policy is held as a bit set: KMS_KAJ_POLICY, and bit n for AccessReason n allowed;
 * 0 (KMS_KAJ_NO_POLICY, what a zeroed struct holds) for none.
 */
#ifndef KMS_KAJ_H
#define KMS_KAJ_H

#include "em_schema.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMS_KAJ_NO_POLICY          0u
#define KMS_KAJ_POLICY             (1u << 31) /* a policy, whatever it allows */
#define KMS_KAJ_REASONS            12         /* AccessReason 0 (REASON_UNSPECIFIED) to 11 */
#define KMS_KAJ_CUSTOMER_INITIATED "CUSTOMER_INITIATED_ACCESS"

/* google.cloud.kms.v1.AccessReason and KeyAccessJustificationsPolicy, for schemas */
extern const struct em_enum kms_access_reason_enum;
extern const struct em_message kms_kaj_policy_schema;

/* The AccessReason's name, or NULL outside 0..11. */
const char *kms_kaj_reason_name(int reason);

/* The AccessReason called name, as static text; NULL when it is none. */
const char *kms_kaj_reason_named(const char *name);

/* A KeyAccessJustificationsPolicy message into a bit set; INVALID_ARGUMENT naming the
 * problem (`field` names the message in it). An absent message (NULL) is KMS_KAJ_NO_POLICY. */
enum em_code kms_kaj_policy_read(const cJSON *policy, const char *field, uint32_t *out,
                                 struct em_status *st);

/* {"allowedAccessReasons": [...]} in AccessReason order (an empty list: {}). */
cJSON *kms_kaj_policy_json(uint32_t policy);

/* OK when policy lets reason through; FAILED_PRECONDITION naming the key and the reason. */
enum em_code kms_kaj_check(uint32_t policy, const char *key_name, const char *reason,
                           struct em_status *st);

/* --- default policies --- */

struct em_store;

enum em_code kms_kaj_open(struct em_store *store, struct em_status *st);
enum em_code kms_kaj_reset(struct em_store *store, struct em_status *st);

/* The default policy set on parent ("projects/p", "folders/f", "organizations/o"); 0 when
 * none is. */
enum em_code kms_kaj_config_get(struct em_store *store, const char *parent, uint32_t *policy,
                                struct em_status *st);
/* Sets it (0: removes it). */
enum em_code kms_kaj_config_set(struct em_store *store, const char *parent, uint32_t policy,
                                struct em_status *st);

/* The nearest default policy above a key of project ("projects/p"), and where it is set
 * (from: a parent name, "" when none is). */
enum em_code kms_kaj_effective(struct em_store *store, const char *project, uint32_t *policy,
                               char *from, size_t from_len, struct em_status *st);

/* The policy a new key of project without one of its own gets: the effective default,
 * where one allows less than everything; KMS_KAJ_NO_POLICY otherwise. */
enum em_code kms_kaj_new_key_policy(struct em_store *store, const char *project, uint32_t *policy,
                                    struct em_status *st);

#endif
