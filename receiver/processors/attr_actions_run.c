/* attr_actions_run.c — regexps, name/attribute matchers and the attribute action engine shared by the resource,
 * attributes and filter processors (see attr_actions_run.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "receiver/processors/attr_actions_run.h"

#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "receiver/config/components/attr_actions.h"

#define ANY_NOT_SET OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET
#define ANY_STRING OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_BOOL OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define ANY_INT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define ANY_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
#define ANY_ARRAY OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
#define ANY_KVLIST OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE
#define ANY_BYTES OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE

/* Backtracking budget of one match (PCRE2 match limit) and its heap (KiB): a pattern that needs more on some
 * input counts as not matching instead of stalling the loop. */
#define REGEX_MATCH_LIMIT 200000u
#define REGEX_HEAP_LIMIT_KIB 4096u

static const otlp_any empty_any = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;

static const otlp_any *kv_value(const otlp_kv *kv) { return kv->value ? kv->value : &empty_any; }
static const char *kv_key(const otlp_kv *kv) { return kv->key ? kv->key : ""; }

/* ================================ regular expressions ================================ */

struct proc_regex {
  pcre2_code *code;
  pcre2_match_data *md;
  pcre2_match_context *mc;
  int groups;
  const char **names; /* [groups + 1], pointing into the code's name table */
};

void proc_regex_free(proc_regex *re) {
  if (!re) return;
  pcre2_match_data_free(re->md);
  pcre2_match_context_free(re->mc);
  pcre2_code_free(re->code);
  free(re->names);
  free(re);
}

proc_regex *proc_regex_compile(const char *pattern, const char *what, wire_err *err) {
  proc_regex *re = calloc(1, sizeof *re);
  if (!re) {
    wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory compiling a regexp", what);
    return NULL;
  }
  int code;
  PCRE2_SIZE off;
  re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                           PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &code, &off, NULL);
  if (!re->code) {
    PCRE2_UCHAR msg[160];
    if (pcre2_get_error_message(code, msg, sizeof msg) < 0) snprintf((char *)msg, sizeof msg, "error %d", code);
    wire_err_set(err, WIRE_E_INVALID, "%s: invalid regexp \"%.100s\": %s at offset %zu", what, pattern,
                 (const char *)msg, (size_t)off);
    proc_regex_free(re);
    return NULL;
  }
  (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* faster when available; the interpreter otherwise */
  uint32_t captures = 0, namecount = 0, entry = 0;
  PCRE2_SPTR table = NULL;
  pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &captures);
  pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &namecount);
  pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
  pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
  re->groups = (int)captures;
  re->names = calloc(captures + 1, sizeof *re->names);
  re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
  re->mc = pcre2_match_context_create(NULL);
  if (!re->names || !re->md || !re->mc) {
    wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory compiling a regexp", what);
    proc_regex_free(re);
    return NULL;
  }
  pcre2_set_match_limit(re->mc, REGEX_MATCH_LIMIT);
  pcre2_set_heap_limit(re->mc, REGEX_HEAP_LIMIT_KIB);
  for (uint32_t i = 0; i < namecount; i++) {
    PCRE2_SPTR e = table + (size_t)i * entry;
    uint32_t group = ((uint32_t)e[0] << 8) | e[1];
    if (group >= 1 && group <= captures) re->names[group] = (const char *)(e + 2);
  }
  return re;
}

bool proc_regex_match(proc_regex *re, const char *s, size_t len) {
  return pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, re->mc) >= 0;
}

int proc_regex_groups(const proc_regex *re) { return re->groups; }

const char *proc_regex_group_name(const proc_regex *re, int group) {
  return group >= 1 && group <= re->groups ? re->names[group] : NULL;
}

bool proc_regex_exec(proc_regex *re, const char *s, size_t len, size_t *starts, size_t *lens) {
  int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, re->mc);
  if (rc < 0) return false;
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
  uint32_t pairs = pcre2_get_ovector_count(re->md);
  for (int g = 0; g <= re->groups; g++) {
    if ((uint32_t)g < pairs && (g < rc || rc == 0) && ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] >= ov[2 * g]) {
      starts[g] = ov[2 * g];
      lens[g] = ov[2 * g + 1] - ov[2 * g];
    } else {
      starts[g] = SIZE_MAX;
      lens[g] = 0;
    }
  }
  return true;
}

/* ================================ name matchers ================================ */

int proc_name_matcher_init(proc_name_matcher *m, const cfg_strlist *names, bool regexp, const char *what,
                           wire_err *err) {
  memset(m, 0, sizeof *m);
  m->regexp = regexp;
  m->n = names->n;
  m->names = names->v;
  if (!regexp || !names->n) return 0;
  m->res = calloc(names->n, sizeof *m->res);
  if (!m->res) return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", what);
  for (size_t i = 0; i < names->n; i++) {
    char w[192];
    snprintf(w, sizeof w, "%s[%zu]", what, i);
    m->res[i] = proc_regex_compile(names->v[i] ? names->v[i] : "", w, err);
    if (!m->res[i]) {
      proc_name_matcher_free(m);
      return -1;
    }
  }
  return 0;
}

bool proc_name_matcher_match(const proc_name_matcher *m, const char *name) {
  if (!name) name = "";
  for (size_t i = 0; i < m->n; i++) {
    if (m->regexp) {
      if (proc_regex_match(m->res[i], name, strlen(name))) return true;
    } else if (m->names[i] && !strcmp(m->names[i], name)) {
      return true;
    }
  }
  return false;
}

void proc_name_matcher_free(proc_name_matcher *m) {
  if (m->res)
    for (size_t i = 0; i < m->n; i++) proc_regex_free(m->res[i]);
  free(m->res);
  memset(m, 0, sizeof *m);
}

/* ================================ value formatting ================================ */

size_t proc_format_double(double d, bool es6, char *out) {
  if (isnan(d)) return (size_t)sprintf(out, "NaN");
  if (isinf(d)) return (size_t)sprintf(out, d > 0 ? "+Inf" : "-Inf");
  /* Shortest digits that read back as d: "%.*e" with growing precision. */
  char tmp[48];
  for (int p = 0; p < 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p, d);
    if (strtod(tmp, NULL) == d) break;
  }
  /* tmp is [-]D[.DDD]e(+|-)XX: split into digits and a decimal exponent. */
  char digits[24];
  size_t nd = 0;
  const char *p = tmp;
  bool neg = *p == '-';
  if (neg) p++;
  for (; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1) digits[nd++] = *p;
  digits[nd] = '\0';
  int exp10 = *p == 'e' ? atoi(p + 1) : 0;
  while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = '\0'; /* %.0e of 100 gives "1e+02": no trailing zeros */
  char *o = out;
  if (neg) *o++ = '-';
  double a = fabs(d);
  if (es6 && a != 0 && (a < 1e-6 || a >= 1e21)) {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, nd - 1);
      o += nd - 1;
    }
    o += sprintf(o, "e%c%s%d", exp10 < 0 ? '-' : '+', exp10 >= 0 && exp10 < 10 ? "0" : "", abs(exp10));
    *o = '\0';
    return (size_t)(o - out);
  }
  if (exp10 < 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = -1; i > exp10; i--) *o++ = '0';
    memcpy(o, digits, nd);
    o += nd;
  } else if ((size_t)exp10 + 1 >= nd) {
    memcpy(o, digits, nd);
    o += nd;
    for (size_t i = nd; i < (size_t)exp10 + 1; i++) *o++ = '0';
  } else {
    memcpy(o, digits, (size_t)exp10 + 1);
    o += exp10 + 1;
    *o++ = '.';
    memcpy(o, digits + exp10 + 1, nd - (size_t)exp10 - 1);
    o += nd - (size_t)exp10 - 1;
  }
  *o = '\0';
  return (size_t)(o - out);
}

/* A growable text buffer (convert to string of arrays and maps). */
typedef struct text {
  char *p;
  size_t len, cap;
  bool oom;
} text;

static void text_add(text *t, const char *s, size_t n) {
  if (t->oom) return;
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 64;
    while (cap < t->len + n + 1) cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p) {
      t->oom = true;
      return;
    }
    t->p = p;
    t->cap = cap;
  }
  memcpy(t->p + t->len, s, n);
  t->len += n;
  t->p[t->len] = '\0';
}

static void text_str(text *t, const char *s) { text_add(t, s, strlen(s)); }

static void text_base64(text *t, const uint8_t *data, size_t len) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16;
    if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
    if (i + 2 < len) v |= data[i + 2];
    char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], i + 1 < len ? tbl[(v >> 6) & 63] : '=',
                 i + 2 < len ? tbl[v & 63] : '='};
    text_add(t, q, 4);
  }
}

/* A JSON string as Go's encoding/json writes it (HTML characters escaped too). */
static void text_json_string(text *t, const char *s, size_t n) {
  text_add(t, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      text_add(t, esc, 2);
    } else if (c == '\n') {
      text_add(t, "\\n", 2);
    } else if (c == '\r') {
      text_add(t, "\\r", 2);
    } else if (c == '\t') {
      text_add(t, "\\t", 2);
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      text_add(t, esc, 6);
    } else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
               ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
      text_str(t, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
      i += 2;
    } else {
      text_add(t, (const char *)&s[i], 1);
    }
  }
  text_add(t, "\"", 1);
}

static void text_json_value(text *t, const otlp_any *v, int depth);

/* A map's members sorted by key (as encoding/json sorts Go maps), the last of equal keys winning. */
static void text_json_kvlist(text *t, const otlp_kvlist *l, int depth) {
  size_t n = l ? l->n_values : 0;
  otlp_kv *small[16], **sorted = n <= 16 ? small : malloc(n * sizeof *sorted);
  if (!sorted) {
    t->oom = true;
    return;
  }
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    otlp_kv *kv = l->values[i];
    if (!kv) continue;
    size_t j = m;
    while (j > 0 && strcmp(kv_key(sorted[j - 1]), kv_key(kv)) > 0) j--; /* stable insertion */
    if (j > 0 && !strcmp(kv_key(sorted[j - 1]), kv_key(kv))) {
      sorted[j - 1] = kv; /* a later duplicate replaces the earlier one */
      continue;
    }
    memmove(sorted + j + 1, sorted + j, (m - j) * sizeof *sorted);
    sorted[j] = kv;
    m++;
  }
  text_add(t, "{", 1);
  for (size_t i = 0; i < m; i++) {
    if (i) text_add(t, ",", 1);
    text_json_string(t, kv_key(sorted[i]), strlen(kv_key(sorted[i])));
    text_add(t, ":", 1);
    text_json_value(t, kv_value(sorted[i]), depth + 1);
  }
  text_add(t, "}", 1);
  if (sorted != small) free(sorted);
}

static void text_json_value(text *t, const otlp_any *v, int depth) {
  char num[400];
  if (depth > WIRE_OTLP_MAX_DEPTH) {
    text_str(t, "null");
    return;
  }
  switch (v->value_case) {
  case ANY_STRING: {
    const char *s = v->string_value ? v->string_value : "";
    text_json_string(t, s, strlen(s));
    break;
  }
  case ANY_BOOL: text_str(t, v->bool_value ? "true" : "false"); break;
  case ANY_INT:
    snprintf(num, sizeof num, "%lld", (long long)v->int_value);
    text_str(t, num);
    break;
  case ANY_DOUBLE:
    if (isnan(v->double_value) || isinf(v->double_value)) {
      text_str(t, "null");
    } else {
      proc_format_double(v->double_value, true, num);
      text_str(t, num);
    }
    break;
  case ANY_BYTES:
    text_add(t, "\"", 1);
    text_base64(t, v->bytes_value.data, v->bytes_value.len);
    text_add(t, "\"", 1);
    break;
  case ANY_ARRAY:
    text_add(t, "[", 1);
    for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
      if (i) text_add(t, ",", 1);
      text_json_value(t, v->array_value->values[i] ? v->array_value->values[i] : &empty_any, depth + 1);
    }
    text_add(t, "]", 1);
    break;
  case ANY_KVLIST: text_json_kvlist(t, v->kvlist_value, depth); break;
  default: text_str(t, "null"); break;
  }
}

/* pcommon's Value.AsString(). */
static void text_as_string(text *t, const otlp_any *v) {
  char num[400];
  switch (v->value_case) {
  case ANY_STRING: text_str(t, v->string_value ? v->string_value : ""); break;
  case ANY_BOOL: text_str(t, v->bool_value ? "true" : "false"); break;
  case ANY_INT:
    snprintf(num, sizeof num, "%lld", (long long)v->int_value);
    text_str(t, num);
    break;
  case ANY_DOUBLE:
    proc_format_double(v->double_value, true, num);
    text_str(t, num);
    break;
  case ANY_BYTES: text_base64(t, v->bytes_value.data, v->bytes_value.len); break;
  case ANY_ARRAY:
  case ANY_KVLIST: text_json_value(t, v, 0); break;
  default: text_add(t, "", 0); break;
  }
}

/* ================================ attribute matchers ================================ */

struct proc_attr_rule {
  const char *key;
  const cfg_value *value; /* strict: compared by type and value; NULL or NONE: presence only */
  proc_regex *re;         /* regexp */
};

int proc_attr_matcher_init(proc_attr_matcher *m, const cfg_list *kvs, bool regexp, const char *what, wire_err *err) {
  memset(m, 0, sizeof *m);
  if (!kvs->n) return 0;
  m->rules = calloc(kvs->n, sizeof *m->rules);
  if (!m->rules) return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", what);
  m->n = kvs->n;
  const match_kv_config *items = kvs->v;
  for (size_t i = 0; i < kvs->n; i++) {
    const match_kv_config *c = &items[i];
    proc_attr_rule *r = &m->rules[i];
    r->key = c->key ? c->key : "";
    if (c->value.kind == CFG_VALUE_NONE) continue;
    if (!regexp) {
      r->value = &c->value;
      continue;
    }
    char w[192];
    snprintf(w, sizeof w, "%s[%zu]", what, i);
    if (c->value.kind != CFG_VALUE_STRING) {
      wire_err_set(err, WIRE_E_INVALID, "%s: match_type regexp needs a string value for key \"%.100s\"", w, r->key);
      proc_attr_matcher_free(m);
      return -1;
    }
    r->re = proc_regex_compile(c->value.str ? c->value.str : "", w, err);
    if (!r->re) {
      proc_attr_matcher_free(m);
      return -1;
    }
  }
  return 0;
}

static bool value_equals_config(const otlp_any *v, const cfg_value *c) {
  switch (c->kind) {
  case CFG_VALUE_STRING: return v->value_case == ANY_STRING && !strcmp(v->string_value ? v->string_value : "", c->str);
  case CFG_VALUE_INT: return v->value_case == ANY_INT && v->int_value == c->i;
  case CFG_VALUE_DOUBLE: return v->value_case == ANY_DOUBLE && v->double_value == c->d;
  case CFG_VALUE_BOOL: return v->value_case == ANY_BOOL && !!v->bool_value == c->b;
  default: return true;
  }
}

static bool value_matches_regex(const otlp_any *v, proc_regex *re) {
  char num[400];
  const char *s;
  size_t len;
  switch (v->value_case) {
  case ANY_STRING:
    s = v->string_value ? v->string_value : "";
    len = strlen(s);
    break;
  case ANY_BOOL:
    s = v->bool_value ? "true" : "false";
    len = strlen(s);
    break;
  case ANY_INT:
    len = (size_t)snprintf(num, sizeof num, "%lld", (long long)v->int_value);
    s = num;
    break;
  case ANY_DOUBLE:
    len = proc_format_double(v->double_value, false, num);
    s = num;
    break;
  default: return false; /* arrays, maps, bytes: not matched by a regexp */
  }
  return proc_regex_match(re, s, len);
}

bool proc_attr_matcher_match(const proc_attr_matcher *m, otlp_kv *const *attrs, size_t n) {
  for (size_t r = 0; r < m->n; r++) {
    const proc_attr_rule *rule = &m->rules[r];
    const otlp_kv *found = NULL;
    for (size_t i = 0; i < n; i++)
      if (attrs[i] && !strcmp(kv_key(attrs[i]), rule->key)) {
        found = attrs[i];
        break;
      }
    if (!found) return false;
    if (rule->re && !value_matches_regex(kv_value(found), rule->re)) return false;
    if (rule->value && !value_equals_config(kv_value(found), rule->value)) return false;
  }
  return true;
}

void proc_attr_matcher_free(proc_attr_matcher *m) {
  for (size_t i = 0; m->rules && i < m->n; i++) proc_regex_free(m->rules[i].re);
  free(m->rules);
  memset(m, 0, sizeof *m);
}

/* ================================ the action engine ================================ */

enum ctx_source {
  CTX_NONE,        /* not a from_context action */
  CTX_METADATA,    /* a request header (metadata.<name>, or a bare name) */
  CTX_AUTH_SUBJECT, /* auth.subject: what the server authenticator set */
  CTX_UNAVAILABLE, /* client.address and other auth.* attributes: never known here, so never set */
};

typedef struct attr_action {
  int kind;                   /* ATTR_ACTION_* */
  const char *key;            /* NULL when only a pattern is given (delete, hash) */
  const cfg_value *value;     /* value source, or NULL */
  const char *from_attribute; /* value source, or NULL */
  enum ctx_source ctx;
  char *ctx_name;             /* CTX_METADATA: lower-case header name (owned) */
  int converted_type;         /* CONVERT_* */
  proc_regex *re;             /* pattern (delete, hash: over keys; extract: over the value) */
  /* Per batch, filled on first use (attr_engine_begin clears them). */
  bool have_key, have_source;
  char *batch_key;            /* key copied into the batch arena */
  bool source_present;
  otlp_any source;            /* template of the value (value, from_context), strings in the batch arena */
  char **batch_names;         /* extract: group names copied into the arena, [groups + 1] (owned array) */
} attr_action;

struct attr_engine {
  attr_action *actions;
  size_t n;
  size_t max_growth;  /* most attributes one run can add */
  otlp_kv **scratch;  /* working copy of the list being processed */
  size_t scratch_cap;
  size_t *starts, *lens; /* extract: group offsets (largest group count + 1) */
  int max_groups;
  text txt;           /* convert to string */
  const component_metrics *batch;
  otlp_arena *arena;
  otlp_arena dry;     /* allocations of dry runs */
};

static char *lower_dup(const char *s) {
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (!d) return NULL;
  for (size_t i = 0; i <= n; i++) d[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
  return d;
}

void attr_engine_destroy(attr_engine *e) {
  if (!e) return;
  for (size_t i = 0; i < e->n; i++) {
    proc_regex_free(e->actions[i].re);
    free(e->actions[i].ctx_name);
    free(e->actions[i].batch_names);
  }
  free(e->actions);
  free(e->scratch);
  free(e->starts);
  free(e->lens);
  free(e->txt.p);
  otlp_arena_free(&e->dry);
  free(e);
}

static bool set(const char *s) { return s && *s; }

attr_engine *attr_engine_create(const cfg_list *actions, const char *what, wire_err *err) {
  attr_engine *e = calloc(1, sizeof *e);
  if (!e || (actions->n && !(e->actions = calloc(actions->n, sizeof *e->actions)))) {
    free(e);
    wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", what);
    return NULL;
  }
  otlp_arena_init(&e->dry, 0);
  e->n = actions->n;
  const attr_action_config *cfg = actions->v;
  for (size_t i = 0; i < actions->n; i++) {
    const attr_action_config *c = &cfg[i];
    attr_action *a = &e->actions[i];
    char w[192];
    snprintf(w, sizeof w, "%s[%zu] (%s)", what, i,
             c->action > 0 && c->action <= ATTR_ACTION_CONVERT ? attr_action_names[c->action] : "?");
    a->kind = c->action;
    a->key = set(c->key) ? c->key : NULL;
    a->converted_type = c->converted_type;
    switch (a->kind) {
    case ATTR_ACTION_INSERT:
    case ATTR_ACTION_UPDATE:
    case ATTR_ACTION_UPSERT:
      if (!a->key) goto missing_key;
      if (c->value.kind != CFG_VALUE_NONE) {
        a->value = &c->value;
      } else if (set(c->from_attribute)) {
        a->from_attribute = c->from_attribute;
      } else if (set(c->from_context)) {
        const char *k = c->from_context;
        if (!strncmp(k, "metadata.", 9)) {
          a->ctx = CTX_METADATA;
          k += 9;
        } else if (!strcmp(k, "auth.subject")) {
          a->ctx = CTX_AUTH_SUBJECT;
        } else if (!strncmp(k, "auth.", 5) || !strcmp(k, "client.address")) {
          a->ctx = CTX_UNAVAILABLE;
        } else {
          a->ctx = CTX_METADATA; /* the Collector's fallback: a bare metadata key */
        }
        if (a->ctx == CTX_METADATA && !(a->ctx_name = lower_dup(k))) goto nomem;
      } else {
        wire_err_set(err, WIRE_E_INVALID, "%s: needs one of value, from_attribute or from_context", w);
        goto fail;
      }
      if (a->kind != ATTR_ACTION_UPDATE) e->max_growth++;
      break;
    case ATTR_ACTION_DELETE:
    case ATTR_ACTION_HASH:
      if (!a->key && !set(c->pattern)) {
        wire_err_set(err, WIRE_E_INVALID, "%s: needs key or pattern", w);
        goto fail;
      }
      if (set(c->pattern) && !(a->re = proc_regex_compile(c->pattern, w, err))) goto fail;
      break;
    case ATTR_ACTION_EXTRACT: {
      if (!a->key) goto missing_key;
      if (!set(c->pattern)) {
        wire_err_set(err, WIRE_E_INVALID, "%s: needs a pattern with named groups", w);
        goto fail;
      }
      if (!(a->re = proc_regex_compile(c->pattern, w, err))) goto fail;
      int groups = proc_regex_groups(a->re);
      if (groups == 0) {
        wire_err_set(err, WIRE_E_INVALID, "%s: pattern \"%.100s\" has no named groups (write (?P<name>...))", w,
                     c->pattern);
        goto fail;
      }
      for (int g = 1; g <= groups; g++)
        if (!proc_regex_group_name(a->re, g)) {
          wire_err_set(err, WIRE_E_INVALID, "%s: pattern \"%.100s\" has an unnamed group (group %d); name every group",
                       w, c->pattern, g);
          goto fail;
        }
      if (!(a->batch_names = calloc((size_t)groups + 1, sizeof *a->batch_names))) goto nomem;
      if (groups > e->max_groups) e->max_groups = groups;
      e->max_growth += (size_t)groups;
      break;
    }
    case ATTR_ACTION_CONVERT:
      if (!a->key) goto missing_key;
      if (a->converted_type == CONVERT_UNSET) {
        wire_err_set(err, WIRE_E_INVALID, "%s: needs converted_type (int, double or string)", w);
        goto fail;
      }
      break;
    default:
      wire_err_set(err, WIRE_E_INVALID, "%s: unknown action", w);
      goto fail;
    }
    continue;
  missing_key:
    wire_err_set(err, WIRE_E_INVALID, "%s: needs a key", w);
    goto fail;
  }
  e->starts = calloc((size_t)e->max_groups + 1, sizeof *e->starts);
  e->lens = calloc((size_t)e->max_groups + 1, sizeof *e->lens);
  if (!e->starts || !e->lens) goto nomem;
  return e;
nomem:
  wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", what);
fail:
  attr_engine_destroy(e);
  return NULL;
}

void attr_engine_begin(attr_engine *e, const component_metrics *batch, otlp_arena *arena) {
  e->batch = batch;
  e->arena = arena;
  for (size_t i = 0; i < e->n; i++) {
    attr_action *a = &e->actions[i];
    a->have_key = a->have_source = false;
    if (a->batch_names) memset(a->batch_names, 0, ((size_t)proc_regex_groups(a->re) + 1) * sizeof *a->batch_names);
  }
}

void attr_engine_begin_dry(attr_engine *e, const component_metrics *batch) {
  otlp_arena_reset(&e->dry);
  attr_engine_begin(e, batch, &e->dry);
}

/* ---- allocation in the current arena ---- */

static int alloc_failed(attr_engine *e, wire_err *err) {
  if (e->arena->exhausted)
    return wire_err_set(err, WIRE_E_LIMIT, "the batch's memory limit was reached while adding attributes");
  return wire_err_set(err, WIRE_E_NOMEM, "out of memory while adding attributes");
}

static char *arena_strndup(attr_engine *e, const char *s, size_t n) {
  char *d = otlp_arena_alloc(e->arena, n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

typedef struct kv_cell {
  otlp_kv kv;
  otlp_any any;
} kv_cell;

/* A new attribute `key` = a shallow copy of `value` (its strings and sub-messages are shared). */
static otlp_kv *new_kv(attr_engine *e, char *key, const otlp_any *value) {
  kv_cell *c = otlp_arena_alloc(e->arena, sizeof *c);
  if (!c) return NULL;
  otlp_kv init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
  c->kv = init;
  c->any = *value;
  c->kv.key = key;
  c->kv.value = &c->any;
  return &c->kv;
}

/* Puts `key` = value at kv[at], or appends it when at is SIZE_MAX (*cnt grows; kv has room). False when out of
 * memory. */
static bool put_kv(attr_engine *e, otlp_kv **kv, size_t *cnt, size_t at, char *key, const otlp_any *value) {
  otlp_kv *nk = new_kv(e, key, value);
  if (!nk) return false;
  if (at != SIZE_MAX) kv[at] = nk;
  else kv[(*cnt)++] = nk;
  return true;
}

static otlp_any string_any(char *s) {
  otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
  v.value_case = ANY_STRING;
  v.string_value = s;
  return v;
}

/* The action's key, copied into the batch arena once per batch. */
static char *action_key(attr_engine *e, attr_action *a) {
  if (!a->have_key) {
    a->batch_key = arena_strndup(e, a->key, strlen(a->key));
    if (!a->batch_key) return NULL;
    a->have_key = true;
  }
  return a->batch_key;
}

static size_t find_key(otlp_kv **kv, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(kv_key(kv[i]), key)) return i;
  return SIZE_MAX;
}

/* The value an insert/update/upsert writes: 1 and *out, 0 when the source is absent, -1 on allocation failure. */
static int action_source(attr_engine *e, attr_action *a, otlp_kv **kv, size_t n, const otlp_any **out) {
  if (a->from_attribute) {
    size_t at = find_key(kv, n, a->from_attribute);
    if (at == SIZE_MAX) return 0;
    *out = kv_value(kv[at]);
    return 1;
  }
  if (!a->have_source) {
    otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    a->source_present = true;
    if (a->value) {
      switch (a->value->kind) {
      case CFG_VALUE_INT:
        v.value_case = ANY_INT;
        v.int_value = a->value->i;
        break;
      case CFG_VALUE_DOUBLE:
        v.value_case = ANY_DOUBLE;
        v.double_value = a->value->d;
        break;
      case CFG_VALUE_BOOL:
        v.value_case = ANY_BOOL;
        v.bool_value = a->value->b;
        break;
      default: {
        const char *s = a->value->str ? a->value->str : "";
        char *d = arena_strndup(e, s, strlen(s));
        if (!d) return -1;
        v = string_any(d);
        break;
      }
      }
    } else if (a->ctx == CTX_AUTH_SUBJECT) {
      const char *s = e->batch ? e->batch->auth_subject : NULL;
      char *d = s ? arena_strndup(e, s, strlen(s)) : NULL;
      if (s && !d) return -1;
      if (d) v = string_any(d);
      a->source_present = d != NULL;
    } else if (a->ctx == CTX_METADATA) {
      /* Every value of the header, joined with ';' as the Collector joins client.Info.Metadata values. */
      const wire_headers *h = e->batch ? e->batch->metadata : NULL;
      size_t total = 0, count = 0;
      for (size_t i = 0; h && i < h->n; i++)
        if (h->v[i].name && !strcmp(h->v[i].name, a->ctx_name)) {
          total += h->v[i].value_len + 1;
          count++;
        }
      if (count) {
        char *d = otlp_arena_alloc(e->arena, total), *o = d;
        if (!d) return -1;
        for (size_t i = 0; i < h->n; i++)
          if (h->v[i].name && !strcmp(h->v[i].name, a->ctx_name)) {
            if (o != d) *o++ = ';';
            memcpy(o, h->v[i].value, h->v[i].value_len);
            o += h->v[i].value_len;
          }
        *o = '\0';
        v = string_any(d);
      }
      a->source_present = count > 0;
    } else {
      a->source_present = false;
    }
    a->source = v;
    a->have_source = true;
  }
  if (!a->source_present) return 0;
  *out = &a->source;
  return 1;
}

/* The Collector's hash: SHA-256 (hex) of the string bytes, of a bool as one byte, of an int or a double as its 8
 * little-endian bytes; any other value (and the empty string) becomes "". */
static int hash_value(attr_engine *e, const otlp_any *v, otlp_any *out) {
  uint8_t buf[8];
  const uint8_t *data = buf;
  size_t len = 0;
  uint64_t bits = 0;
  switch (v->value_case) {
  case ANY_STRING:
    data = (const uint8_t *)(v->string_value ? v->string_value : "");
    len = strlen((const char *)data);
    break;
  case ANY_BOOL:
    buf[0] = v->bool_value ? 1 : 0;
    len = 1;
    break;
  case ANY_INT:
  case ANY_DOUBLE:
    if (v->value_case == ANY_INT) bits = (uint64_t)v->int_value;
    else memcpy(&bits, &v->double_value, sizeof bits);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(bits >> (8 * i));
    len = 8;
    break;
  default: break;
  }
  char *hex = otlp_arena_alloc(e->arena, 65);
  if (!hex) return -1;
  hex[0] = '\0';
  if (len) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) return -1;
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
      hex[2 * i] = digits[md[i] >> 4];
      hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
  }
  *out = string_any(hex);
  return 0;
}

/* strconv.ParseInt(s, 10, 64). */
static bool parse_int(const char *s, int64_t *out) {
  bool neg = false;
  if (*s == '+' || *s == '-') neg = *s++ == '-';
  if (!*s) return false;
  uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    unsigned d = (unsigned)(*s - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}

/* strconv.ParseFloat(s, 64): decimal or hex (with a p exponent) numbers, inf/infinity/nan; no spaces. */
static bool parse_double(const char *s, double *out) {
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  if (!*p || strchr(s, '(') || strchr(s, '_')) return false;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && !strpbrk(p, "pP")) return false;
  if ((*s < '0' || *s > '9') && *s != '+' && *s != '-' && *s != '.' && *s != 'i' && *s != 'I' && *s != 'n' &&
      *s != 'N')
    return false;
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s || *end) return false;
  if (errno == ERANGE && isinf(d)) return false;
  *out = d;
  return true;
}

/* Go's int64(f) on amd64: out-of-range values and NaN give the minimum int64. */
static int64_t double_to_int(double d) {
  if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) return INT64_MIN;
  return (int64_t)d;
}

/* convert: 1 with *out when the value changes type, 0 when it stays as it is, -1 on allocation failure. */
static int convert_value(attr_engine *e, int to, const otlp_any *v, otlp_any *out) {
  otlp_any r = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
  switch (to) {
  case CONVERT_STRING:
    if (v->value_case == ANY_STRING) return 0;
    e->txt.len = 0;
    e->txt.oom = false;
    text_add(&e->txt, "", 0);
    text_as_string(&e->txt, v);
    if (e->txt.oom) return -1;
    char *s = arena_strndup(e, e->txt.p, e->txt.len);
    if (!s) return -1;
    r = string_any(s);
    break;
  case CONVERT_INT:
    r.value_case = ANY_INT;
    if (v->value_case == ANY_DOUBLE) r.int_value = double_to_int(v->double_value);
    else if (v->value_case == ANY_BOOL) r.int_value = v->bool_value ? 1 : 0;
    else if (v->value_case != ANY_STRING || !parse_int(v->string_value ? v->string_value : "", &r.int_value))
      return 0;
    break;
  case CONVERT_DOUBLE:
    r.value_case = ANY_DOUBLE;
    if (v->value_case == ANY_INT) r.double_value = (double)v->int_value;
    else if (v->value_case == ANY_BOOL) r.double_value = v->bool_value ? 1 : 0;
    else if (v->value_case != ANY_STRING || !parse_double(v->string_value ? v->string_value : "", &r.double_value))
      return 0;
    break;
  default: return 0;
  }
  *out = r;
  return 1;
}

static int ensure_scratch(attr_engine *e, size_t need) {
  if (need <= e->scratch_cap) return 0;
  size_t cap = e->scratch_cap ? e->scratch_cap : 16;
  while (cap < need) cap *= 2;
  otlp_kv **s = realloc(e->scratch, cap * sizeof *s);
  if (!s) return -1;
  e->scratch = s;
  e->scratch_cap = cap;
  return 0;
}

/* Whether action `a` (delete, hash) selects attribute `kv`: its key, or a key the pattern matches. */
static bool selects(attr_action *a, const otlp_kv *kv) {
  const char *k = kv_key(kv);
  if (a->key && !strcmp(k, a->key)) return true;
  return a->re && proc_regex_match(a->re, k, strlen(k));
}

int attr_engine_apply(attr_engine *e, otlp_kv ***attrs, size_t *n, bool commit, wire_err *err) {
  size_t n0 = *n;
  if (ensure_scratch(e, n0 + e->max_growth) < 0)
    return wire_err_set(err, WIRE_E_NOMEM, "out of memory processing attributes");
  otlp_kv **kv = e->scratch;
  size_t cnt = 0;
  for (size_t i = 0; i < n0; i++)
    if ((*attrs)[i]) kv[cnt++] = (*attrs)[i];
  bool changed = cnt != n0; /* NULL entries (never produced by the decoder) are dropped */
  for (size_t ai = 0; ai < e->n; ai++) {
    attr_action *a = &e->actions[ai];
    switch (a->kind) {
    case ATTR_ACTION_INSERT:
    case ATTR_ACTION_UPDATE:
    case ATTR_ACTION_UPSERT: {
      const otlp_any *src;
      int have = action_source(e, a, kv, cnt, &src);
      if (have < 0) return alloc_failed(e, err);
      if (!have) break;
      size_t at = find_key(kv, cnt, a->key);
      if ((a->kind == ATTR_ACTION_INSERT && at != SIZE_MAX) || (a->kind == ATTR_ACTION_UPDATE && at == SIZE_MAX))
        break;
      char *key = at != SIZE_MAX ? kv[at]->key : action_key(e, a);
      if (!key || !put_kv(e, kv, &cnt, at, key, src)) return alloc_failed(e, err);
      changed = true;
      break;
    }
    case ATTR_ACTION_DELETE: {
      size_t w = 0;
      for (size_t i = 0; i < cnt; i++)
        if (!selects(a, kv[i])) kv[w++] = kv[i];
      if (w != cnt) changed = true;
      cnt = w;
      break;
    }
    case ATTR_ACTION_HASH:
      for (size_t i = 0; i < cnt; i++) {
        if (!selects(a, kv[i])) continue;
        otlp_any h;
        if (hash_value(e, kv_value(kv[i]), &h) < 0 || !put_kv(e, kv, &cnt, i, kv[i]->key, &h))
          return alloc_failed(e, err);
        changed = true;
      }
      break;
    case ATTR_ACTION_EXTRACT: {
      size_t at = find_key(kv, cnt, a->key);
      if (at == SIZE_MAX) break;
      const otlp_any *v = kv_value(kv[at]);
      if (v->value_case != ANY_STRING) break; /* extracting works on strings only */
      const char *s = v->string_value ? v->string_value : "";
      if (!proc_regex_exec(a->re, s, strlen(s), e->starts, e->lens)) break;
      int groups = proc_regex_groups(a->re);
      for (int g = 1; g <= groups; g++) {
        if (!a->batch_names[g]) {
          const char *name = proc_regex_group_name(a->re, g);
          if (!(a->batch_names[g] = arena_strndup(e, name, strlen(name)))) return alloc_failed(e, err);
        }
        char *val = e->starts[g] == SIZE_MAX ? arena_strndup(e, "", 0) : arena_strndup(e, s + e->starts[g], e->lens[g]);
        if (!val) return alloc_failed(e, err);
        otlp_any sv = string_any(val);
        size_t to = find_key(kv, cnt, a->batch_names[g]);
        if (!put_kv(e, kv, &cnt, to, to != SIZE_MAX ? kv[to]->key : a->batch_names[g], &sv))
          return alloc_failed(e, err);
        changed = true;
      }
      break;
    }
    case ATTR_ACTION_CONVERT: {
      size_t at = find_key(kv, cnt, a->key);
      if (at == SIZE_MAX) break;
      otlp_any r;
      int rc = convert_value(e, a->converted_type, kv_value(kv[at]), &r);
      if (rc < 0) return alloc_failed(e, err);
      if (rc == 0) break;
      if (!put_kv(e, kv, &cnt, at, kv[at]->key, &r)) return alloc_failed(e, err);
      changed = true;
      break;
    }
    default: break;
    }
  }
  if (!changed) return 0;
  if (!commit) return 1;
  if (cnt <= n0) {
    if (cnt) memcpy(*attrs, kv, cnt * sizeof *kv);
  } else {
    otlp_kv **arr = otlp_arena_alloc(e->arena, cnt * sizeof *arr);
    if (!arr) return alloc_failed(e, err);
    memcpy(arr, kv, cnt * sizeof *kv);
    *attrs = arr;
  }
  *n = cnt;
  return 1;
}

/* The copy-on-write pass (see attr_engine_consume): the batch to forward, or NULL (released, err prefixed). */
static component_metrics *run_cow(attr_engine *e, const char *id, component_metrics *batch, attr_pass_fn pass,
                                  void *processor, wire_err *err) {
  if (!metrics_exclusive(batch)) {
    attr_engine_begin_dry(e, batch);
    int rc = pass(processor, batch, false, err);
    if (rc == 0) return batch; /* nothing to change: forward the shared batch as it is */
    if (rc < 0) goto fail;
    if (!(batch = metrics_make_writable(batch, err))) return NULL;
  }
  attr_engine_begin(e, batch, &batch->arena);
  int rc = pass(processor, batch, true, err);
  if (rc < 0) goto fail;
  if (rc > 0) metrics_update(batch);
  return batch;
fail:
  wire_err_prefix(err, "%s: ", id);
  metrics_unref(batch);
  return NULL;
}

int attr_engine_consume(attr_engine *e, const char *id, component_metrics *batch, attr_pass_fn pass, void *processor,
                        const component_consumer *next, wire_err *err) {
  if (!metrics_request(batch, err)) {
    if (metrics_has_raw(batch)) { /* the lazy decode failed (err says why) */
      metrics_unref(batch);
      return -1;
    }
  } else if (!(batch = run_cow(e, id, batch, pass, processor, err))) {
    return -1;
  }
  if (!next->consume_metrics) {
    metrics_unref(batch);
    return 0;
  }
  return next->consume_metrics(next->ctx, batch, err);
}
