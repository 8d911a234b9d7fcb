/*
 * runner_regex: the check a pipeline's regular expression passes before regcomp(3).
 *
 * Pipelines use POSIX extended regular expressions (docs/pipelines.md), compiled by glibc,
 * whose compiler expands repetitions: x+ becomes x x*, x{m,n} n copies of x. Nested, these
 * multiply ((a{1,1000}){1,1000} is a million nodes), stacked ones (a+++, [a-z]****+, which
 * POSIX leaves undefined) cost exponential or high-polynomial time, and deep nesting
 * recurses as deep. A pattern is refused, naming why, when it stacks repetition operators,
 * nests groups more than RN_REGEX_MAX_DEPTH deep, uses a backreference (exponential to
 * match), or expands to more than RN_REGEX_MAX_SIZE nodes (or its own length, if longer);
 * what passes compiles in well under a second. Syntax errors are left to regcomp.
 */
#ifndef RUNNER_REGEX_H
#define RUNNER_REGEX_H

#include <stdbool.h>

#define RN_REGEX_MAX_SIZE  5000
#define RN_REGEX_MAX_DEPTH 100

/* Whether pattern is cheap enough to compile and match; else false with *why set to a
 * short reason ("repetition operators follow each other"). */
bool rn_regex_affordable(const char *pattern, const char **why);

#endif
