/* attr_actions_run.h — what the `resource`, `attributes` and `filter` processors share at run time:
 *   - regular expressions (PCRE2, compiled once when a component is created);
 *   - name matchers and attribute matchers: the Collector's include/exclude rules (match_type strict|regexp);
 *   - the attribute action engine (insert, update, upsert, delete, hash, extract, convert) that the resource
 *     processor runs on resource attributes and the attributes processor on data point attributes, with the
 *     semantics of the Collector's attraction package (see receiver/config/components/attr_actions.h).
 *
 * Regular expressions: the Collector uses Go's RE2 syntax; PCRE2 accepts the same syntax for everything RE2 has
 * (classes like \d \w \s, non-greedy quantifiers, (?i) flags, named groups (?P<name>...) and (?<name>...)), with
 * `$` matching only at the very end as in RE2. PCRE2 also accepts things RE2 rejects (backreferences,
 * lookaround); a pattern using them works here but would not load in the Collector. Matching is unanchored, as
 * Go's MatchString (write ^...$ to match whole names). Subjects that are not valid UTF-8 are matched as far as
 * they are valid. A match that backtracks past a fixed budget counts as no match (RE2 is linear; PCRE2 is not).
 *
 * How the engine edits a batch: it never writes into an existing KeyValue or AnyValue (they may be shared with
 * other attributes); a changed or new attribute is a new KeyValue+AnyValue allocated in the batch's arena (one
 * allocation), whose strings may point at strings already in the batch. An attribute array is rewritten in place
 * when it does not grow, else replaced by a new array in the arena. Nothing is allocated for an attribute list
 * that no action changes.
 *
 * Everything here runs on the receiver's loop thread; an engine, and each compiled regex, is used by one
 * processor instance at a time. */
#ifndef OTELC_RECEIVER_PROCESSORS_ATTR_ACTIONS_RUN_H
#define OTELC_RECEIVER_PROCESSORS_ATTR_ACTIONS_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "receiver/config/schema.h"
#include "receiver/pipeline.h"
#include "wire/err.h"
#include "wire/otlp.h"

/* ---- regular expressions --------------------------------------------------------------------------------- */

typedef struct proc_regex proc_regex;

/* Compiles `pattern`. Returns NULL and fills err with "<what>: invalid regexp \"<pattern>\": <reason> at
 * offset N" (WIRE_E_INVALID) when it does not compile, or WIRE_E_NOMEM. */
proc_regex *proc_regex_compile(const char *pattern, const char *what, wire_err *err);
/* True when the regexp matches somewhere in s[0..len). */
bool proc_regex_match(proc_regex *re, const char *s, size_t len);
/* Number of capturing groups. */
int proc_regex_groups(const proc_regex *re);
/* The name of group `group` (1-based), or NULL when it is unnamed. */
const char *proc_regex_group_name(const proc_regex *re, int group);
/* Matches and, on success, returns true and sets starts[g]/lens[g] for g in 0..groups (starts[g] == SIZE_MAX
 * for a group that took no part in the match). The arrays hold proc_regex_groups(re) + 1 entries. */
bool proc_regex_exec(proc_regex *re, const char *s, size_t len, size_t *starts, size_t *lens);
void proc_regex_free(proc_regex *re);

/* ---- name matchers (the Collector's filterset: strict or regexp) ------------------------------------------ */

typedef struct proc_name_matcher {
  bool regexp;
  size_t n;
  char *const *names; /* strict: the configured names (owned by the config) */
  proc_regex **res;   /* regexp: one per name */
} proc_name_matcher;

/* Prepares a matcher for `names`; `what` prefixes errors ("filter/x: metrics.include.metric_names[1]"). */
int proc_name_matcher_init(proc_name_matcher *m, const cfg_strlist *names, bool regexp, const char *what,
                           wire_err *err);
/* True when `name` equals one of the names (strict) or one of the regexps matches it (regexp). */
bool proc_name_matcher_match(const proc_name_matcher *m, const char *name);
void proc_name_matcher_free(proc_name_matcher *m);

/* ---- attribute matchers (the Collector's filtermatcher.AttributesMatcher) --------------------------------- */

typedef struct proc_attr_rule proc_attr_rule;
typedef struct proc_attr_matcher {
  size_t n; /* 0: matches everything */
  proc_attr_rule *rules;
} proc_attr_matcher;

/* Prepares a matcher from a cfg_list of match_kv_config. strict: the attribute's value must equal the configured
 * value, type included (5 does not equal "5" nor 5.0); regexp: the configured value must be a string (else an
 * error), and the attribute's value — string, or int/double/bool written out — must match it. A rule without a
 * value only asks that the key be present. */
int proc_attr_matcher_init(proc_attr_matcher *m, const cfg_list *kvs, bool regexp, const char *what, wire_err *err);
/* True when every rule holds for attrs[0..n). */
bool proc_attr_matcher_match(const proc_attr_matcher *m, otlp_kv *const *attrs, size_t n);
void proc_attr_matcher_free(proc_attr_matcher *m);

/* ---- the action engine ------------------------------------------------------------------------------------ */

typedef struct attr_engine attr_engine;

/* Compiles a cfg_list of attr_action_config (patterns, value templates, context keys). `what` names the list in
 * errors ("resource/k8s: attributes"); errors read "resource/k8s: attributes[1] (extract): ...". NULL on error. */
attr_engine *attr_engine_create(const cfg_list *actions, const char *what, wire_err *err);
void attr_engine_destroy(attr_engine *e);

/* Starts work on one batch: new attributes will be allocated in `arena` (the batch's own arena when the batch is
 * writable), and from_context values are read from the batch's metadata. */
void attr_engine_begin(attr_engine *e, const component_metrics *batch, otlp_arena *arena);
/* Starts a dry run over a batch the caller may not modify: allocations go to a scratch arena of the engine
 * (reset at each call), and attr_engine_apply must be called with commit == false. */
void attr_engine_begin_dry(attr_engine *e, const component_metrics *batch);

/* One pass of a processor over a batch: returns >0 when it changed (commit) or would change (dry run)
 * something, 0 when not, -1 on error (err set). */
typedef int (*attr_pass_fn)(void *processor, component_metrics *batch, bool commit, wire_err *err);
/* What the resource and attributes processors do with a batch: decode it if it is still in its received bytes,
 * run `pass` over it with copy on write — on a batch other consumers also hold, a dry run first tells whether
 * anything would change, and only then is the batch made writable (a private copy); then the real pass runs and
 * the point count is updated — and hand it to `next` (released when there is no next). Returns what next
 * returns, or -1 on error (the batch released, err prefixed with `id`). A batch without data is forwarded as it
 * is. */
int attr_engine_consume(attr_engine *e, const char *id, component_metrics *batch, attr_pass_fn pass, void *processor,
                        const component_consumer *next, wire_err *err);

/* Runs every action, in order, on the attribute list (*attrs, *n). Returns 1 when the list changed, 0 when no
 * action did anything, -1 when an allocation failed (err: WIRE_E_LIMIT when the batch's arena limit was reached,
 * else WIRE_E_NOMEM). With commit, the list is updated (in place or with a new array from the arena); without,
 * nothing outside the engine is written. */
int attr_engine_apply(attr_engine *e, otlp_kv ***attrs, size_t *n, bool commit, wire_err *err);

/* ---- value formatting (Go's pcommon Value.AsString, for convert to string and regexp matching) -------------- */

/* Writes `d` as Go writes it: es6 ? like AsString (shortest round-trip digits, exponent form below 1e-6 and from
 * 1e21 on: "1e-7", "1e+21") : like strconv.FormatFloat(d, 'f', -1, 64) (never an exponent). NaN and infinities
 * are "NaN", "+Inf", "-Inf". `out` must hold 400 bytes; returns the length. */
size_t proc_format_double(double d, bool es6, char *out);

#endif
