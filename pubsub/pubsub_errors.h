/*
 * pubsub_errors.h: the catalogue of Pub/Sub's error messages that more than one place
 * sends, in Google's wording (integration tests and client libraries compare them: change
 * a message here only to follow Google).
 *
 * Each constructor is a macro over EM_FAIL, so the status records the caller's file and
 * line, not this header's; each returns the code it sets:
 *     return PS_ERR_TOPIC_NOT_FOUND(st);
 *     return PS_ERR_SUBSCRIPTION_NOT_FOUND(&call->status);
 * A message sent from one place only stays next to the check that sends it.
 *
 * Google reference: https://cloud.google.com/pubsub/docs/reference/error-codes
 */
#ifndef PUBSUB_ERRORS_H
#define PUBSUB_ERRORS_H

#include "em_status.h"

/* NOT_FOUND: the topic, subscription or snapshot the request names does not exist. */
#define PS_ERR_TOPIC_NOT_FOUND(st)        EM_FAIL((st), EM_NOT_FOUND, "Topic not found")
#define PS_ERR_SUBSCRIPTION_NOT_FOUND(st) EM_FAIL((st), EM_NOT_FOUND, "Subscription does not exist")
#define PS_ERR_SNAPSHOT_NOT_FOUND(st)     EM_FAIL((st), EM_NOT_FOUND, "Snapshot does not exist")
/* NOT_FOUND: CreateSubscription names a topic that does not exist. */
#define PS_ERR_SUBSCRIPTION_TOPIC_NOT_FOUND(st)                                                    \
    EM_FAIL((st), EM_NOT_FOUND, "Subscription topic does not exist")

/* ALREADY_EXISTS: a create names an existing resource. */
#define PS_ERR_TOPIC_EXISTS(st) EM_FAIL((st), EM_ALREADY_EXISTS, "Topic already exists")
#define PS_ERR_SUBSCRIPTION_EXISTS(st)                                                             \
    EM_FAIL((st), EM_ALREADY_EXISTS, "Subscription already exists")
#define PS_ERR_SNAPSHOT_EXISTS(st) EM_FAIL((st), EM_ALREADY_EXISTS, "Snapshot already exists")

/* INVALID_ARGUMENT: messageStoragePolicy.allowedPersistenceRegions names no region. */
#define PS_ERR_STORAGE_REGION_UNKNOWN(st, region)                                                  \
    EM_FAIL((st), EM_INVALID_ARGUMENT,                                                             \
            "Invalid message storage policy: \"%.60s\" is not a Google Cloud region.", (region))

/* INVALID_ARGUMENT: expirationPolicy.ttl given below Google's minimum of a day ("0s"
 * included: only a policy without a ttl never expires). */
#define PS_ERR_TTL_TOO_SHORT(st)                                                                   \
    EM_FAIL((st), EM_INVALID_ARGUMENT,                                                             \
            "Invalid expiration_policy.ttl: the minimum is 1 day (86400s); an expiration_policy "  \
            "without a ttl never expires.")

#endif
