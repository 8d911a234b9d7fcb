/*
 * spanner_role_check: what a database role may do (see spanner_roles.h). The roles a role
 * has are found once per check (itself, public, and every role it is a member of, followed
 * through the memberships); an access is allowed when one of them holds a privilege that
 * covers it.
 */
#include "spanner_roles.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The roles `role` has, as the schema spells them (at most every role, public and the two
 * reader roles). */
struct role_set {
    const char *names[SP_ROLES_MAX + 4];
    int count;
};

static bool in_set(const struct role_set *set, const char *name)
{
    for (int i = 0; i < set->count; i++)
        if (strcasecmp(set->names[i], name) == 0)
            return true;
    return false;
}

static void set_add(struct role_set *set, const char *name)
{
    if (!in_set(set, name) && set->count < (int)(sizeof(set->names) / sizeof(*set->names)))
        set->names[set->count++] = name;
}

/* Empty when role does not exist (a role dropped while sessions use it has nothing). */
static void roles_of(const struct sp_schema *s, const char *role, struct role_set *set)
{
    set->count = 0;
    const char *name = sp_role_find(s, role);
    if (!name)
        return;
    set_add(set, name);
    set_add(set, SP_ROLE_PUBLIC);
    const struct sp_acl *acl = s->acl;
    for (int i = 0; acl && i < set->count; i++) /* the set grows as it is walked */
        for (int k = 0; k < acl->nmembers; k++)
            if (strcasecmp(acl->members[k].member, set->names[i]) == 0)
                set_add(set, acl->members[k].role);
}

bool sp_role_has(const struct sp_schema *s, const char *role, const char *other)
{
    struct role_set set;
    roles_of(s, role, &set);
    return in_set(&set, other);
}

bool sp_role_reads_info_schema(const struct sp_schema *s, const char *role)
{
    return sp_role_has(s, role, SP_ROLE_INFO_READER);
}

/* Whether privilege `held` covers `needed` on an object of kind on: itself, or for a
 * sequence's draw (UPDATE), SELECT too (Spanner takes either). */
static bool covers(enum sp_grant_object on, enum sp_privilege held, enum sp_privilege needed)
{
    return held == needed ||
           (on == SP_ON_SEQUENCE && needed == SP_PRIV_UPDATE && held == SP_PRIV_SELECT);
}

#define SCHEMA_NAME_MAX 160 /* a named schema's name: 128 characters at most */

/* The named schema of the object an access is to ("sch" of sch.T, of READ_sch.cs...),
 * into schema; false for an object of the default schema. */
static bool schema_of(const struct sp_access *a, char schema[SCHEMA_NAME_MAX])
{
    const char *dot = strrchr(a->object, '.');
    if (!dot || a->on == SP_ON_SCHEMA)
        return false;
    const char *start = a->on == SP_ON_TABLE_FUNCTION ? a->object + 5 : a->object; /* READ_ */
    if (dot < start)
        return false;
    snprintf(schema, SCHEMA_NAME_MAX, "%.*s", (int)(dot - start), start);
    return true;
}

static bool allowed(const struct sp_acl *acl, const struct role_set *set,
                    const struct sp_access *a);

/* Whether one of the roles has USAGE on a named schema: what reaching its objects needs. */
static bool uses_schema(const struct sp_acl *acl, const struct role_set *set, const char *schema)
{
    struct sp_access usage = {SP_ON_SCHEMA, schema, NULL, SP_PRIV_USAGE};
    return allowed(acl, set, &usage);
}

/* Whether a privilege of one of the roles covers the access. */
static bool allowed(const struct sp_acl *acl, const struct role_set *set, const struct sp_access *a)
{
    for (int i = 0; acl && i < acl->ngrants; i++) {
        const struct sp_grant *g = &acl->grants[i];
        if (g->on != a->on || !covers(a->on, g->privilege, a->privilege) ||
            strcasecmp(g->object, a->object) != 0 || !in_set(set, g->role))
            continue;
        if (!g->column || !a->column || strcasecmp(g->column, a->column) == 0)
            return true;
    }
    return false;
}

bool sp_role_sees(const struct sp_schema *s, const char *role, enum sp_grant_object on,
                  const char *object, const char *column)
{
    struct role_set set;
    roles_of(s, role, &set);
    char schema[SCHEMA_NAME_MAX];
    struct sp_access a = {on, object, column, SP_PRIV_SELECT};
    if (schema_of(&a, schema) && !uses_schema(s->acl, &set, schema))
        return false;
    for (int i = 0; s->acl && i < s->acl->ngrants; i++) {
        const struct sp_grant *g = &s->acl->grants[i];
        if (g->on == on && strcasecmp(g->object, object) == 0 && in_set(&set, g->role) &&
            (!column || !g->column || strcasecmp(g->column, column) == 0))
            return true;
    }
    return false;
}

/* One access by role (whose roles are set): USAGE on its object's named schema, if any,
 * then the privilege it needs. */
static enum em_code check_access(const struct sp_schema *s, const struct role_set *set,
                                 const char *role, const struct sp_access *a, struct em_status *st)
{
    char schema[SCHEMA_NAME_MAX];
    if (schema_of(a, schema) && !uses_schema(s->acl, set, schema))
        return EM_FAIL(st, EM_PERMISSION_DENIED,
                       "Role %s does not have required privileges on schema %s.", role, schema);
    if (allowed(s->acl, set, a))
        return EM_OK;
    if (a->column)
        return EM_FAIL(st, EM_PERMISSION_DENIED,
                       "Role %s does not have required privileges on column %s.%s.", role,
                       a->object, a->column);
    return EM_FAIL(st, EM_PERMISSION_DENIED, "Role %s does not have required privileges on %s %s.",
                   role, sp_grant_object_labels[a->on], a->object);
}

enum em_code sp_role_check(const struct sp_schema *s, const char *role, const struct sp_access *a,
                           int count, struct em_status *st)
{
    struct role_set set;
    roles_of(s, role, &set);
    for (int i = 0; i < count; i++)
        if (check_access(s, &set, role, &a[i], st))
            return st->code;
    return EM_OK;
}

/* The sequences an expression draws from (GET_NEXT_SEQUENCE_VALUE(SEQUENCE s)), each
 * checked for UPDATE (or SELECT). */
static enum em_code check_draws(const struct sp_schema *s, const struct role_set *set,
                                const char *role, const struct sp_expr *e, struct em_status *st)
{
    if (e->kind == SP_EXPR_SEQUENCE) {
        const struct sp_sequence *q = sp_schema_sequence(s, e->name);
        struct sp_access a = {SP_ON_SEQUENCE, q ? q->name : e->name, NULL, SP_PRIV_UPDATE};
        if (check_access(s, set, role, &a, st))
            return st->code;
    }
    for (int i = 0; i < e->nargs; i++)
        if (check_draws(s, set, role, e->args[i], st))
            return st->code;
    return EM_OK;
}

enum em_code sp_role_check_default(const struct sp_schema *s, const char *role,
                                   const struct sp_column *column, struct em_status *st)
{
    if (!column->default_text || !strcasestr(column->default_text, "SEQUENCE"))
        return EM_OK;
    struct role_set set;
    roles_of(s, role, &set);
    struct sp_arena scratch = {0};
    struct em_status ignored = {0};
    struct sp_parser p;
    struct sp_expr *e;
    enum em_code code = EM_OK;
    if (!sp_parser_init(&p, &scratch, column->default_text, &ignored) && !sp_parse_expr(&p, &e))
        code = check_draws(s, &set, role, e, st);
    sp_arena_free(&scratch);
    return code;
}

enum em_code sp_accesses_add(struct sp_accesses *list, struct sp_arena *arena,
                             enum sp_grant_object on, const char *object, const char *column,
                             enum sp_privilege privilege, struct em_status *st)
{
    for (int i = 0; i < list->count; i++) {
        const struct sp_access *a = &list->items[i];
        if (a->on == on && a->privilege == privilege && strcasecmp(a->object, object) == 0 &&
            (a->column == NULL) == (column == NULL) &&
            (!column || strcasecmp(a->column, column) == 0))
            return EM_OK;
    }
    if (list->count == list->cap) {
        int cap = list->cap ? 2 * list->cap : 8;
        struct sp_access *items = sp_arena_alloc(arena, (size_t)cap * sizeof(*items));
        if (!items)
            return EM_FAIL_OOM(st);
        if (list->count)
            memcpy(items, list->items, (size_t)list->count * sizeof(*items));
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = (struct sp_access){on, object, column, privilege};
    return EM_OK;
}
