/* test_config_yaml.c — the receiver config's lower layers: YAML to tree (positions, anchors, merge keys, limits,
 * syntax errors), Go-compatible scalars (durations, ints, bools), and ${env}/${file} substitution. */
#include <stdlib.h>
#include <string.h>

#include "receiver/config/envsubst.h"
#include "receiver/config/node.h"
#include "receiver/config/scalar.h"
#include "receiver/config/yaml_load.h"
#include "testlib.h"

static cfg_node *parse(cfg_arena *a, const char *yaml, cfg_diags *d) {
  return cfg_yaml_parse(a, "t.yaml", yaml, strlen(yaml), d);
}

static void test_positions_and_kinds(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_node *root = parse(a,
                         "receivers:\n"
                         "  otlp:\n"
                         "    protocols:\n"
                         "      grpc:\n"
                         "      http: {endpoint: \"x\"}\n"
                         "list: [a, 'b', ~]\n",
                         &d);
  CHECK(root != NULL);
  CHECK_EQ(d.errors, 0);
  cfg_node *otlp = cfg_map_get(cfg_map_get(root, "receivers"), "otlp");
  CHECK(otlp && otlp->kind == CFG_NODE_MAP);
  CHECK_EQ(otlp->line, 3);
  CHECK_EQ(otlp->col, 5);
  cfg_node *grpc = cfg_map_get(cfg_map_get(otlp, "protocols"), "grpc");
  CHECK(grpc && grpc->kind == CFG_NODE_NULL);
  cfg_node *ep = cfg_map_get(cfg_map_get(cfg_map_get(otlp, "protocols"), "http"), "endpoint");
  CHECK(ep && ep->kind == CFG_NODE_SCALAR && ep->quoted);
  CHECK_STR(ep->text, "x");
  CHECK_EQ(ep->line, 5);
  CHECK_EQ(ep->col, 24);
  cfg_node *list = cfg_map_get(root, "list");
  CHECK(list && list->kind == CFG_NODE_SEQ && list->n == 3);
  CHECK(!list->items[0]->quoted && list->items[1]->quoted);
  CHECK(list->items[2]->kind == CFG_NODE_NULL);
  CHECK_STR(list->items[0]->file, "t.yaml");
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_anchors_and_merge_keys(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_node *root = parse(a,
                         "base: &b {timeout: 1s, size: 10}\n"
                         "copy: *b\n"
                         "derived:\n"
                         "  <<: *b\n"
                         "  size: 20\n",
                         &d);
  CHECK(root != NULL);
  CHECK_STR(cfg_map_get(cfg_map_get(root, "copy"), "timeout")->text, "1s");
  cfg_node *der = cfg_map_get(root, "derived");
  CHECK_STR(cfg_map_get(der, "size")->text, "20"); /* explicit keys win over merged ones */
  CHECK_STR(cfg_map_get(der, "timeout")->text, "1s");
  CHECK(cfg_map_get(der, "<<") == NULL);
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_duplicate_key_is_an_error(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  CHECK(parse(a, "a: 1\nb: 2\na: 3\n", &d) == NULL);
  CHECK_STR(cfg_diags_first_error(&d), "t.yaml:3:1: invalid YAML: key \"a\" already defined at line 1");
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_syntax_error_names_line(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  CHECK(parse(a, "a:\n  b: c\n d: e\n", &d) == NULL);
  CHECK_STR(cfg_diags_first_error(&d), "t.yaml:3:2: invalid YAML: did not find expected key while parsing a block mapping");
  cfg_diags_free(&d);
  cfg_diags_init(&d);
  CHECK(parse(a, "a: b: c\n", &d) == NULL);
  CHECK_STR(cfg_diags_first_error(&d), "t.yaml:1:5: invalid YAML: mapping values are not allowed in this context");
  cfg_diags_free(&d);
  cfg_diags_init(&d);
  CHECK(parse(a, "a: 1\n---\nb: 2\n", &d) == NULL);
  CHECK_CONTAINS(cfg_diags_first_error(&d), "more than one document");
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_limits(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  /* Billion laughs: each level doubles; the alias budget stops it. */
  const char *bomb =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
  CHECK(parse(a, bomb, &d) == NULL);
  CHECK_CONTAINS(cfg_diags_first_error(&d), "aliases expand to more than");
  cfg_diags_free(&d);
  cfg_diags_init(&d);
  char deep[400];
  size_t n = 0;
  for (int i = 0; i < 100; i++) deep[n++] = '[';
  deep[n] = '\0';
  CHECK(parse(a, deep, &d) == NULL);
  CHECK_CONTAINS(cfg_diags_first_error(&d), "nesting deeper than 64");
  cfg_diags_free(&d);
  cfg_diags_init(&d);
  CHECK(parse(a, "a: *nope\n", &d) == NULL);
  CHECK_CONTAINS(cfg_diags_first_error(&d), "unknown anchor \"nope\"");
  cfg_diags_free(&d);
  cfg_arena_free(a);

  /* A small arena budget fails cleanly. */
  a = cfg_arena_new(4096);
  cfg_diags_init(&d);
  char big[20000];
  n = 0;
  for (int i = 0; i < 1000 && n + 20 < sizeof big; i++) n += (size_t)snprintf(big + n, sizeof big - n, "k%d: v\n", i);
  CHECK(parse(a, big, &d) == NULL);
  CHECK_CONTAINS(cfg_diags_first_error(&d), "configuration too large");
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_empty_document(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_node *n = parse(a, "", &d);
  CHECK(n && n->kind == CFG_NODE_NULL);
  n = parse(a, "# only a comment\n", &d);
  CHECK(n && n->kind == CFG_NODE_NULL);
  CHECK_EQ(d.errors, 0);
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_merge_trees(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_node *x = parse(a, "m: {a: 1, b: {c: 2, d: 3}}\nl: [1, 2]\n", &d);
  cfg_node *y = parse(a, "m: {b: {d: 4}, e: 5}\nl: [9]\n", &d);
  CHECK(x && y);
  CHECK_EQ(cfg_node_merge(a, x, y), 0);
  cfg_node *m = cfg_map_get(x, "m");
  CHECK_STR(cfg_map_get(m, "a")->text, "1");
  CHECK_STR(cfg_map_get(cfg_map_get(m, "b"), "c")->text, "2");
  CHECK_STR(cfg_map_get(cfg_map_get(m, "b"), "d")->text, "4");
  CHECK_STR(cfg_map_get(m, "e")->text, "5");
  cfg_node *l = cfg_map_get(x, "l");
  CHECK_EQ(l->n, 1); /* lists replace */
  CHECK_STR(l->items[0]->text, "9");
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_colon_keys(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_node *x = parse(a, "exporters::debug::verbosity: detailed\nexporters::debug::sampling_initial: 3\n", &d);
  CHECK_EQ(cfg_expand_colon_keys(a, x), 0);
  cfg_node *dbg = cfg_map_get(cfg_map_get(x, "exporters"), "debug");
  CHECK_STR(cfg_map_get(dbg, "verbosity")->text, "detailed");
  CHECK_STR(cfg_map_get(dbg, "sampling_initial")->text, "3");
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_durations(void) {
  int64_t ns;
  CHECK(cfg_parse_duration("5s", &ns) && ns == 5000000000LL);
  CHECK(cfg_parse_duration("200ms", &ns) && ns == 200000000LL);
  CHECK(cfg_parse_duration("1m30s", &ns) && ns == 90000000000LL);
  CHECK(cfg_parse_duration("1.5h", &ns) && ns == 5400000000000LL);
  CHECK(cfg_parse_duration("300us", &ns) && ns == 300000LL);
  CHECK(cfg_parse_duration("300\xc2\xb5s", &ns) && ns == 300000LL);
  CHECK(cfg_parse_duration("1ns", &ns) && ns == 1);
  CHECK(cfg_parse_duration("0", &ns) && ns == 0);
  CHECK(cfg_parse_duration("-1s", &ns) && ns == -1000000000LL);
  CHECK(cfg_parse_duration(".5s", &ns) && ns == 500000000LL);
  CHECK(!cfg_parse_duration("abc", &ns));
  CHECK(!cfg_parse_duration("5", &ns));
  CHECK(!cfg_parse_duration("", &ns));
  CHECK(!cfg_parse_duration("5 s", &ns));
  CHECK(!cfg_parse_duration("5sec", &ns));
  CHECK(!cfg_parse_duration("s", &ns));
  CHECK(!cfg_parse_duration("9999999999h", &ns)); /* overflow */
  char buf[40];
  cfg_format_duration(90000000000LL, buf, sizeof buf);
  CHECK_STR(buf, "1m30s");
  cfg_format_duration(200000000LL, buf, sizeof buf);
  CHECK_STR(buf, "200ms");
  cfg_format_duration(0, buf, sizeof buf);
  CHECK_STR(buf, "0s");
  cfg_format_duration(5400000000000LL, buf, sizeof buf);
  CHECK_STR(buf, "1h30m0s");
  cfg_format_duration(1500, buf, sizeof buf);
  CHECK_STR(buf, "1.5us");
  /* What is printed reads back. */
  const int64_t samples[] = {1, 999, 1001, 123456789, 5000000000LL, 86400000000000LL, 1234567890123LL};
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
    cfg_format_duration(samples[i], buf, sizeof buf);
    CHECK_MSG(cfg_parse_duration(buf, &ns) && ns == samples[i], "round trip of %s", buf);
  }
}

static void test_ints_bools_doubles(void) {
  int64_t v;
  CHECK(cfg_parse_int("8192", &v) && v == 8192);
  CHECK(cfg_parse_int("-5", &v) && v == -5);
  CHECK(cfg_parse_int("0x10", &v) && v == 16);
  CHECK(cfg_parse_int("1_000", &v) && v == 1000);
  CHECK(cfg_parse_int("9223372036854775807", &v) && v == INT64_MAX);
  CHECK(!cfg_parse_int("9223372036854775808", &v));
  CHECK(!cfg_parse_int("12abc", &v));
  CHECK(!cfg_parse_int("", &v));
  CHECK(!cfg_parse_int("1.5", &v));
  bool b;
  CHECK(cfg_parse_bool("true", &b) && b);
  CHECK(cfg_parse_bool("False", &b) && !b);
  CHECK(cfg_parse_bool("yes", &b) && b);
  CHECK(!cfg_parse_bool("maybe", &b));
  double d;
  CHECK(cfg_parse_double("0.5", &d) && d == 0.5);
  CHECK(cfg_parse_double("2", &d) && d == 2);
  CHECK(!cfg_parse_double("nan", &d));
  CHECK(!cfg_parse_double("0x1p3", &d));
}

/* ---- env substitution ---- */

static const char *fake_env(const char *name, void *ud) {
  (void)ud;
  if (!strcmp(name, "HOST")) return "backend.example.com";
  if (!strcmp(name, "PORT")) return "4317";
  if (!strcmp(name, "EMPTY")) return "";
  if (!strcmp(name, "MAP")) return "{a: 1, b: two}";
  if (!strcmp(name, "QUOTED")) return "\"x\"";
  if (!strcmp(name, "TOKEN")) return "s3cret-value";
  return NULL;
}

static cfg_node *subst(cfg_arena *a, const char *yaml, cfg_diags *d) {
  cfg_node *n = parse(a, yaml, d);
  if (n) cfg_envsubst(a, n, fake_env, NULL, d);
  return n;
}

static void test_env_substitution(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_node *n = subst(a,
                      "ep: ${env:HOST}:${PORT}\n"
                      "port: ${env:PORT}\n"
                      "qport: \"${env:PORT}\"\n"
                      "dflt: ${env:NOPE:-fallback}\n"
                      "dflt_empty: ${EMPTY:-used}\n"
                      "esc: $${env:HOST} and $$ and $x\n"
                      "map: ${env:MAP}\n"
                      "inmap: prefix-${env:MAP}\n"
                      "missing: ${env:NOT_SET_ANYWHERE}\n",
                      &d);
  CHECK(n != NULL);
  CHECK_STR(cfg_map_get(n, "ep")->text, "backend.example.com:4317");
  CHECK(cfg_map_get(n, "ep")->quoted);
  cfg_node *port = cfg_map_get(n, "port");
  CHECK_STR(port->text, "4317");
  CHECK(!port->quoted); /* a whole reference is re-read as YAML: a number */
  CHECK(cfg_map_get(n, "qport")->quoted);
  CHECK_STR(cfg_map_get(n, "dflt")->text, "fallback");
  CHECK_STR(cfg_map_get(n, "dflt_empty")->text, "used");
  CHECK_STR(cfg_map_get(n, "esc")->text, "${env:HOST} and $ and $x");
  cfg_node *map = cfg_map_get(n, "map");
  CHECK(map->kind == CFG_NODE_MAP && map->n == 2);
  CHECK_STR(cfg_map_get(map, "b")->text, "two");
  CHECK_EQ(map->line, 7); /* keeps the position of the reference */
  CHECK_STR(cfg_map_get(n, "inmap")->text, "prefix-{a: 1, b: two}"); /* embedded: never structure */
  cfg_node *missing = cfg_map_get(n, "missing");
  CHECK(missing->kind == CFG_NODE_NULL);
  CHECK_EQ(d.errors, 0);
  CHECK_EQ(d.warnings, 1);
  CHECK_STR(d.v[0].msg, "t.yaml:9:10: missing: environment variable \"NOT_SET_ANYWHERE\" is not set; using an empty value");
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

static void test_env_errors_and_files(void) {
  cfg_arena *a = cfg_arena_new(0);
  cfg_diags d;
  cfg_diags_init(&d);
  subst(a, "a: ${vault:secret/x}\nb: ${env:BAD-NAME}\nc: ${env:HOST\nd:\n  - ${}\n", &d);
  CHECK_EQ(d.errors, 4);
  CHECK_STR(d.v[0].msg, "t.yaml:1:4: a: unsupported reference scheme \"vault\" in ${vault:...} (otelc supports env and file)");
  CHECK_STR(d.v[1].msg, "t.yaml:2:4: b: invalid environment variable name \"BAD-NAME\" in ${...}");
  CHECK_STR(d.v[2].msg, "t.yaml:3:4: c: unterminated \"${\" (write \"$${\" for a literal)");
  CHECK_STR(d.v[3].msg, "t.yaml:5:5: d[0]: invalid environment variable name \"\" in ${...}");
  cfg_diags_free(&d);

  char path[600];
  snprintf(path, sizeof path, "%s/token", test_tmpdir());
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs("file-token-value\n", f);
  fclose(f);
  char yaml[1600];
  snprintf(yaml, sizeof yaml, "token: ${file:%s}\nnone: ${file:%s.missing}\n", path, path);
  cfg_diags_init(&d);
  cfg_node *n = subst(a, yaml, &d);
  CHECK(n != NULL);
  CHECK_STR(cfg_map_get(n, "token")->text, "file-token-value");
  CHECK_EQ(d.errors, 1);
  CHECK_CONTAINS(cfg_diags_first_error(&d), "cannot read ${file:");
  /* No diagnostic ever carries a resolved value. */
  for (size_t i = 0; i < d.n; i++) CHECK(!strstr(d.v[i].msg, "file-token-value"));
  cfg_diags_free(&d);
  cfg_arena_free(a);
}

int main(void) {
  RUN(test_positions_and_kinds);
  RUN(test_anchors_and_merge_keys);
  RUN(test_duplicate_key_is_an_error);
  RUN(test_syntax_error_names_line);
  RUN(test_limits);
  RUN(test_empty_document);
  RUN(test_merge_trees);
  RUN(test_colon_keys);
  RUN(test_durations);
  RUN(test_ints_bools_doubles);
  RUN(test_env_substitution);
  RUN(test_env_errors_and_files);
  return test_finish();
}
