/*
 * bigtable_data_boost: what a Data Boost app profile (AppProfile.dataBoostIsolationReadOnly)
 * allows on the data plane. Such a profile is "intended for read-only usage via the Data
 * Boost feature": reads through it are served as through any single-cluster profile, and
 * writes are refused ("You can't send write or delete requests with Data Boost").
 * Thread-safe.
 * Reference: https://cloud.google.com/bigtable/docs/data-boost-overview
 */
#ifndef BIGTABLE_DATA_BOOST_H
#define BIGTABLE_DATA_BOOST_H

#include "em_status.h"

struct bt_admin;

/* FAILED_PRECONDITION when app_profile (an id; NULL or "" for "default") of target's
 * instance (target: a table or an authorized view) is a Data Boost profile; OK otherwise,
 * an unknown profile included (the call's routing answers NOT_FOUND for it). */
enum em_code bt_data_boost_check_write(struct bt_admin *admin, const char *target,
                                       const char *app_profile, struct em_status *st);

#endif
