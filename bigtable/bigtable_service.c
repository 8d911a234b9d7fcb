/*
 * bigtable_service: the Bigtable service definition (struct em_service_def): descriptor,
 * routes and the lifecycle hooks that open the CMEK engine (one protected resource per
 * replica of a table), the replicas' registry, the admin domain and its long-running
 * operations. Separate from bigtable_main.c so tests and fuzz targets can open the same
 * service without a process.
 */
#include "bigtable_service.h"

#include "bigtable_admin.h"
#include "bigtable_backup.h"
#include "bigtable_cascade.h"
#include "bigtable_errors.h"
#include "bigtable_handlers.h"
#include "bigtable_replicas.h"
#include "bigtable_routes.h"
#include "em_clock.h"
#include "em_cmek.h"
#include "em_descriptor.h"
#include "em_json.h"
#include "em_log.h"
#include "em_operations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bigtable's words for a data call routed to a cluster whose replica's key KMS refuses:
 * the replica "projects/p/instances/i/clusters/c/tables/t" (or a backup of the cluster,
 * ".../clusters/c/backups/b") names the cluster. */
static void bt_inaccessible_error(void *arg, const struct em_cmek_info *info, struct em_status *st)
{
    (void)arg;
    const char *tables = strstr(info->resource, "/tables/");
    if (!tables)
        tables = strstr(info->resource, "/backups/");
    char cluster[EM_RESOURCE_MAX];
    snprintf(cluster, sizeof(cluster), "%.*s",
             tables ? (int)(tables - info->resource) : (int)strlen(info->resource), info->resource);
    BT_ERR_CLUSTER_KEY_INACCESSIBLE(st, cluster);
}

/* The engine's hooks get the service (arg): the replicas' files follow their states, and
 * the cascade advances after every check round. */
static void bt_state_changed(void *arg, const char *resource, enum em_cmek_state from,
                             enum em_cmek_state to)
{
    struct em_service *svc = arg;
    struct bt_context *bt = svc->ctx;
    if (bt)
        bt_replicas_state_changed(bt->replicas, resource, from, to);
}

static void bt_round_done(void *arg, int64_t now)
{
    struct em_service *svc = arg;
    struct bt_context *bt = svc->ctx;
    struct em_status st = {0};
    if (!bt || !bt->admin)
        return;
    if (bt_cascade_run(bt->admin, now, svc->config.key_check_interval_s * EM_NS_PER_SEC, &st))
        em_warn("bigtable: the CMEK cascade did not run: %s", st.message);
    bt_replication_drain(&bt->replication, now); /* a replica may be back */
}

/* Every second and on clock:advance: the replicated writes that are due, the backups
 * whose expireTime passed on the emulator clock, the hot backups whose hotToStandardTime
 * did, and the deleted tables whose 7 days did. */
static enum em_code bigtable_tick(struct em_service *svc, int64_t now, struct em_status *st)
{
    struct bt_context *bt = svc->ctx;
    if (!bt || !bt->admin)
        return EM_OK;
    bt_replication_drain(&bt->replication, now);
    if (bt_backups_expire(bt->admin, now, st) || bt_backups_convert_hot(bt->admin, now, st))
        return st->code;
    return bt_deleted_tables_expire(bt->admin, now, st);
}

static void bigtable_close(struct em_service *svc)
{
    struct bt_context *bt = svc->ctx;
    em_operations_close(svc->operations);
    svc->operations = NULL;
    if (!bt)
        return;
    bt_admin_close(bt->admin);
    bt_replicas_close(bt->replicas);
    free(bt);
    svc->ctx = NULL;
}

static enum em_code bigtable_open(struct em_service *svc, struct em_status *st)
{
    struct bt_context *bt = calloc(1, sizeof(*bt));
    if (!bt)
        return EM_FAIL_OOM(st);
    svc->ctx = bt;
    struct em_cmek *cmek;
    /* the registry exists before the engine, whose state hook it is; it learns the
     * engine once that is open */
    if (bt_replicas_open(NULL, svc->config.data_dir, &bt->replicas, st))
        goto out_fail;
    struct em_cmek_hooks hooks = {.state_changed = bt_state_changed,
                                  .inaccessible_error = bt_inaccessible_error,
                                  .round_done = bt_round_done,
                                  .arg = svc};
    if (em_cmek_open(svc, svc->def->desc->agent_domain, &hooks, &cmek, st))
        goto out_fail;
    bt_replicas_set_engine(bt->replicas, cmek);
    if (bt_admin_open(svc->store, bt->replicas, svc->config.data_dir, &bt->admin, st))
        goto out_fail;
    bt_admin_set_kms_grace(bt->admin, svc->config.kms_grace_s * EM_NS_PER_SEC);
    bt_replication_init(&bt->replication, bt->admin, bt->replicas,
                        svc->config.bigtable_replication_delay_s * EM_NS_PER_SEC);
    struct em_operations_options opt = {.service = "bigtable",
                                        .types = bt_op_types,
                                        .type_count = bt_op_type_count,
                                        .ctx = bt,
                                        .data_dir = svc->config.data_dir};
    if (em_operations_open(svc->store, &opt, em_clock_now(), &svc->operations, st))
        goto out_fail;
    return EM_OK;
out_fail:
    bigtable_close(svc);
    return st->code;
}

static enum em_code bigtable_reset(struct em_service *svc, struct em_status *st)
{
    struct bt_context *bt = svc->ctx;
    if (em_operations_reset(svc->operations, st))
        return st->code;
    return bt_admin_reset(bt->admin, st);
}

const struct em_service_def bigtable_service = {
    .desc = &bigtable_descriptor,
    .routes = bigtable_routes,
    .iam_resource_check = bt_iam_resource_check,
    .open = bigtable_open,
    .close = bigtable_close,
    .tick = bigtable_tick,
    .reset = bigtable_reset,
    /* tables and clusters call KMS (em_cmek_protect); data calls wait for their replica's
     * writer thread */
    .blocking_handlers = true,
};
