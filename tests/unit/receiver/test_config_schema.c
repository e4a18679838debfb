/* test_config_schema.c — the generic decoder (types, bounds, hints, required keys, optional sections, secrets),
 * the consistency of every registered component's schema and defaults, the registry, component ids and the
 * filter processor's OTTL subset. */
#include <stdlib.h>
#include <string.h>

#include "receiver/component.h"
#include "receiver/config/components/filter.h"
#include "receiver/config/schema.h"
#include "receiver/config/yaml_load.h"
#include "testlib.h"

/* ---- a small schema exercising every type ---- */

typedef struct inner {
  int64_t n;
  char *s;
} inner;

typedef struct sample {
  char *name;
  int64_t count;
  bool on;
  double ratio;
  int64_t wait;
  int64_t body;
  int64_t mem;
  int mode;
  cfg_strlist tags;
  cfg_strmap headers;
  inner embedded;
  inner *maybe;
  cfg_list items;
  cfg_value any;
  const cfg_node *raw;
  char *secret;
  char *ext;
} sample;

static const char *const modes[] = {"fast", "safe", "detailed", NULL};

static const cfg_field inner_fields[] = {
    CFG_FIELD(inner, n, "n", CFG_T_INT, .def = "7", CFG_RANGE(0, 100)),
    CFG_FIELD(inner, s, "s", CFG_T_STRING),
    {0}};
static const cfg_schema inner_schema = {.name = "inner", .size = sizeof(inner), .fields = inner_fields};

static const cfg_field item_fields[] = {
    CFG_FIELD(inner, n, "n", CFG_T_INT, .def = "1"),
    CFG_FIELD(inner, s, "s", CFG_T_STRING, .flags = CFG_REQUIRED),
    {0}};
static const cfg_schema item_schema = {.name = "item", .size = sizeof(inner), .fields = item_fields};

static const cfg_field sample_fields[] = {
    CFG_FIELD(sample, name, "name", CFG_T_STRING, .flags = CFG_REQUIRED),
    CFG_FIELD(sample, count, "count", CFG_T_INT, .def = "10", CFG_RANGE(1, 1000)),
    CFG_FIELD(sample, on, "enabled", CFG_T_BOOL, .def = "true"),
    CFG_FIELD(sample, ratio, "ratio", CFG_T_DOUBLE, .def = "0.5", CFG_RANGE(0, 1)),
    CFG_FIELD(sample, wait, "timeout", CFG_T_DURATION, .def = "200ms", CFG_RANGE(0, 9e18)),
    CFG_FIELD(sample, body, "max_body", CFG_T_BYTES, .def = "1024"),
    CFG_FIELD(sample, mem, "limit_mib", CFG_T_MIB, .def = "4"),
    CFG_FIELD(sample, mode, "mode", CFG_T_ENUM, .enums = modes, .def = "safe"),
    CFG_FIELD(sample, tags, "tags", CFG_T_STRING_LIST),
    CFG_FIELD(sample, headers, "headers", CFG_T_STRING_MAP, .flags = CFG_SECRET),
    CFG_FIELD(sample, embedded, "embedded", CFG_T_SECTION, .sub = &inner_schema),
    CFG_FIELD(sample, maybe, "maybe", CFG_T_SECTION, .flags = CFG_OPTIONAL, .sub = &inner_schema),
    CFG_FIELD(sample, items, "items", CFG_T_SECTION_LIST, .sub = &item_schema),
    CFG_FIELD(sample, any, "value", CFG_T_VALUE),
    CFG_FIELD(sample, raw, "raw", CFG_T_RAW),
    CFG_FIELD(sample, secret, "token", CFG_T_STRING, .flags = CFG_SECRET),
    CFG_FIELD(sample, ext, "storage", CFG_T_COMPONENT_REF, .ref_caps = COMPONENT_CAP_STORAGE),
    CFG_IGNORED("old_knob", CFG_T_INT),
    {0}};
static const cfg_schema sample_schema = {.name = "sample", .size = sizeof(sample), .fields = sample_fields};

/* Decodes `yaml` into *s; the tree lives in *arena (freed by the caller). */
static size_t decode(const char *yaml, sample *s, cfg_arena **arena, cfg_diags *d, cfg_ctx *ctx) {
  *arena = cfg_arena_new(0);
  cfg_node *n = cfg_yaml_parse(*arena, "s.yaml", yaml, strlen(yaml), d);
  memset(s, 0, sizeof *s);
  cfg_ctx_init(ctx, d);
  cfg_path_push_key(&ctx->path, "sample");
  return cfg_decode(&sample_schema, s, n, ctx);
}

static void test_defaults_and_values(void) {
  cfg_arena *a;
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_ctx ctx;
  sample s;
  size_t errors = decode("name: x\n", &s, &a, &d, &ctx);
  CHECK_EQ(errors, 0);
  CHECK_STR(s.name, "x");
  CHECK_EQ(s.count, 10);
  CHECK(s.on);
  CHECK_DBL(s.ratio, 0.5);
  CHECK_EQ(s.wait, 200000000LL);
  CHECK_EQ(s.body, 1024);
  CHECK_EQ(s.mem, 4 << 20);
  CHECK_EQ(s.mode, 1);
  CHECK_EQ(s.embedded.n, 7);
  CHECK(s.maybe == NULL);
  CHECK(s.any.kind == CFG_VALUE_NONE);
  cfg_free(&sample_schema, &s);
  cfg_ctx_free(&ctx);
  cfg_arena_free(a);

  errors = decode("name: y\ncount: 999\nenabled: false\nratio: 1\ntimeout: 1m30s\nmax_body: 0x100\nlimit_mib: 64\n"
                  "mode: DETAILED\ntags: [a, b]\nheaders: {x-key: v}\nembedded: {n: 3}\nmaybe:\n"
                  "items: [{s: one}, {s: two, n: 5}]\nvalue: 42\nraw: {anything: [1, 2]}\nstorage: file_storage/q\n",
                  &s, &a, &d, &ctx);
  CHECK_EQ(errors, 0);
  CHECK_EQ(s.count, 999);
  CHECK(!s.on);
  CHECK_EQ(s.wait, 90000000000LL);
  CHECK_EQ(s.body, 256);
  CHECK_EQ(s.mem, 64LL << 20);
  CHECK_EQ(s.mode, 2);
  CHECK_EQ(s.tags.n, 2);
  CHECK_STR(s.tags.v[1], "b");
  CHECK_EQ(s.headers.n, 1);
  CHECK_STR(s.headers.v[0].value, "v");
  CHECK_EQ(s.embedded.n, 3);
  CHECK(s.maybe != NULL); /* present with no value: on, with defaults */
  if (s.maybe) CHECK_EQ(s.maybe->n, 7);
  CHECK_EQ(s.items.n, 2);
  CHECK_EQ(((inner *)s.items.v)[0].n, 1);
  CHECK_EQ(((inner *)s.items.v)[1].n, 5);
  CHECK(s.any.kind == CFG_VALUE_INT && s.any.i == 42);
  CHECK(s.raw && s.raw->kind == CFG_NODE_MAP);
  CHECK_STR(s.ext, "file_storage/q");
  CHECK_EQ(ctx.nrefs, 1);
  CHECK_STR(ctx.refs[0].id, "file_storage/q");
  CHECK_STR(ctx.refs[0].path, "sample::storage");
  CHECK_EQ(ctx.refs[0].caps, COMPONENT_CAP_STORAGE);
  cfg_free(&sample_schema, &s);
  cfg_ctx_free(&ctx);
  cfg_arena_free(a);
  cfg_diags_free(&d);
}

static void test_value_typing(void) {
  const struct {
    const char *yaml;
    cfg_value_kind kind;
  } cases[] = {
      {"name: x\nvalue: \"42\"\n", CFG_VALUE_STRING}, {"name: x\nvalue: 1.5\n", CFG_VALUE_DOUBLE},
      {"name: x\nvalue: true\n", CFG_VALUE_BOOL},     {"name: x\nvalue: prod\n", CFG_VALUE_STRING},
      {"name: x\nvalue: -7\n", CFG_VALUE_INT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cfg_arena *a;
    cfg_diags d;
    cfg_diags_init(&d);
    cfg_ctx ctx;
    sample s;
    decode(cases[i].yaml, &s, &a, &d, &ctx);
    CHECK_MSG(s.any.kind == cases[i].kind, "case %zu: kind %d", i, (int)s.any.kind);
    cfg_free(&sample_schema, &s);
    cfg_ctx_free(&ctx);
    cfg_arena_free(a);
    cfg_diags_free(&d);
  }
}

/* Decodes and returns all messages joined by '\n' (static buffer). */
static const char *errors_of(const char *yaml) {
  static char out[4096];
  cfg_arena *a;
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_ctx ctx;
  sample s;
  decode(yaml, &s, &a, &d, &ctx);
  out[0] = '\0';
  size_t off = 0;
  for (size_t i = 0; i < d.n && off < sizeof out; i++)
    off += (size_t)snprintf(out + off, sizeof out - off, "%s%s", i ? "\n" : "", d.v[i].msg);
  cfg_free(&sample_schema, &s);
  cfg_ctx_free(&ctx);
  cfg_arena_free(a);
  cfg_diags_free(&d);
  return out;
}

static void test_error_messages(void) {
  CHECK_STR(errors_of("name: x\ncuont: 1\n"), "s.yaml:2:1: sample: unknown key \"cuont\" (did you mean \"count\"?)");
  CHECK_STR(errors_of("name: x\nzzzzzz: 1\n"), "s.yaml:2:1: sample: unknown key \"zzzzzz\"");
  CHECK_STR(errors_of("count: 5\n"), "s.yaml:1:1: sample: missing required key \"name\"");
  CHECK_STR(errors_of("name: \"\"\n"), "s.yaml:1:7: sample::name: must not be empty");
  CHECK_STR(errors_of("name: x\ncount: many\n"), "s.yaml:2:8: sample::count: \"many\" is not an integer");
  CHECK_STR(errors_of("name: x\ncount: 0\n"), "s.yaml:2:8: sample::count: must be between 1 and 1000");
  CHECK_STR(errors_of("name: x\nenabled: maybe\n"),
            "s.yaml:2:10: sample::enabled: \"maybe\" is not a boolean (true or false)");
  CHECK_STR(errors_of("name: x\nratio: 2\n"), "s.yaml:2:8: sample::ratio: must be between 0 and 1");
  CHECK_STR(errors_of("name: x\ntimeout: abc\n"), "s.yaml:2:10: sample::timeout: \"abc\" is not a duration");
  CHECK_STR(errors_of("name: x\ntimeout: 5\n"),
            "s.yaml:2:10: sample::timeout: \"5\" is not a duration (missing unit: write e.g. \"5s\" or \"5ms\")");
  CHECK_STR(errors_of("name: x\ntimeout: -1s\n"), "s.yaml:2:10: sample::timeout: must be at least 0s");
  CHECK_STR(errors_of("name: x\nmode: fsat\n"),
            "s.yaml:2:7: sample::mode: \"fsat\" is not one of fast, safe, detailed (did you mean \"fast\"?)");
  CHECK_STR(errors_of("name: x\ntags: a\n"), "s.yaml:2:7: sample::tags: expected a list, got a scalar");
  CHECK_STR(errors_of("name: x\nembedded: [1]\n"), "s.yaml:2:11: sample::embedded: expected a map, got a sequence");
  CHECK_STR(errors_of("name: x\nitems: [{n: 2}]\n"), "s.yaml:2:9: sample::items[0]: missing required key \"s\"");
  CHECK_STR(errors_of("name: x\nembedded: {n: 101}\n"), "s.yaml:2:15: sample::embedded::n: must be between 0 and 100");
  CHECK_STR(errors_of("name: x\nstorage: \"bad id\"\n"),
            "s.yaml:2:10: sample::storage: \"bad id\" is not a component id (type[/name])");
  CHECK_STR(errors_of("name: x\nold_knob: 3\n"),
            "s.yaml:2:11: sample::old_knob: has no effect in otelc (accepted for Collector compatibility)");
  /* Secrets are never echoed. */
  CHECK_STR(errors_of("name: x\ntoken: [hunter2]\n"), "s.yaml:2:8: sample::token: expected a string, got a sequence");
  CHECK_STR(errors_of("name: x\nheaders: {authorization: {x: hunter2}}\n"),
            "s.yaml:2:26: sample::headers::authorization: expected a string, got a map");
  /* Several mistakes: all reported. */
  CHECK_STR(errors_of("count: 0\nmode: x\n"),
            "s.yaml:1:8: sample::count: must be between 1 and 1000\n"
            "s.yaml:2:7: sample::mode: \"x\" is not one of fast, safe, detailed\n"
            "s.yaml:1:1: sample: missing required key \"name\"");
}

static void test_emit_redacts(void) {
  cfg_arena *a;
  cfg_diags d;
  cfg_diags_init(&d);
  cfg_ctx ctx;
  sample s;
  decode("name: \"123\"\ntoken: hunter2\nheaders: {authorization: Bearer hunter3}\nmaybe: {}\n", &s, &a, &d, &ctx);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  cfg_emit(f, &sample_schema, &s, 0);
  fclose(f);
  CHECK(text && !strstr(text, "hunter2") && !strstr(text, "hunter3"));
  CHECK_CONTAINS(text, "token: \"[REDACTED]\"\n");
  CHECK_CONTAINS(text, "  authorization: \"[REDACTED]\"\n");
  CHECK_CONTAINS(text, "name: \"123\"\n"); /* a string that looks like a number stays a string */
  CHECK_CONTAINS(text, "timeout: 200ms\n");
  CHECK_CONTAINS(text, "limit_mib: 4\n");
  CHECK_CONTAINS(text, "maybe:\n  \"n\": 7\n"); /* "n" is a boolean in YAML 1.1: quoted */
  CHECK(!strstr(text, "old_knob"));
  free(text);
  cfg_free(&sample_schema, &s);
  cfg_ctx_free(&ctx);
  cfg_arena_free(a);
  cfg_diags_free(&d);
}

/* ---- every registered schema ---- */

static void check_schema(const cfg_schema *s, int depth) {
  CHECK(s->size > 0);
  if (depth > 8) return;
  for (const cfg_field *f = s->fields; f && f->key; f++) {
    for (const cfg_field *g = f + 1; g->key; g++) CHECK_MSG(strcmp(f->key, g->key), "%s: key %s twice", s->name, f->key);
    if (f->flags & CFG_NO_EFFECT) continue;
    CHECK_MSG(f->offset < s->size, "%s::%s offset out of the struct", s->name, f->key);
    if (f->type == CFG_T_ENUM) CHECK_MSG(f->enums && f->enums[0], "%s::%s enum without values", s->name, f->key);
    if (f->type == CFG_T_SECTION || f->type == CFG_T_SECTION_LIST) {
      CHECK_MSG(f->sub != NULL, "%s::%s section without schema", s->name, f->key);
      if (f->sub) check_schema(f->sub, depth + 1);
    }
  }
  /* Defaults must parse (cfg_defaults aborts otherwise) and free cleanly. */
  void *obj = calloc(1, s->size);
  cfg_defaults(s, obj);
  cfg_free(s, obj);
  free(obj);
}

static void test_registry_schemas(void) {
  CHECK(registry_count() >= 17);
  for (size_t i = 0; i < registry_count(); i++) {
    const component_factory *f = registry_at(i);
    CHECK(f->type && f->config && f->doc);
    check_schema(f->config, 0);
    /* All defaults: decoding an absent config never crashes, and the defaults print. */
    cfg_diags d;
    cfg_diags_init(&d);
    cfg_ctx ctx;
    cfg_ctx_init(&ctx, &d);
    void *obj = calloc(1, f->config->size);
    cfg_decode(f->config, obj, NULL, &ctx);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cfg_emit(out, f->config, obj, 2);
    fclose(out);
    free(text);
    cfg_free(f->config, obj);
    free(obj);
    cfg_ctx_free(&ctx);
    cfg_diags_free(&d);
  }
}

static void test_registry_lookup(void) {
  const component_factory *f = registry_find(COMPONENT_EXPORTER, "logging");
  CHECK(f && f->alias_of && !strcmp(f->alias_of, "debug"));
  CHECK(registry_canonical(f) == registry_find(COMPONENT_EXPORTER, "debug"));
  CHECK(registry_find(COMPONENT_RECEIVER, "otlp") != NULL);
  CHECK(registry_find(COMPONENT_EXPORTER, "otlp") != NULL);
  CHECK(registry_find(COMPONENT_RECEIVER, "batch") == NULL);
  CHECK_STR(registry_suggest(COMPONENT_PROCESSOR, "memorylimiter"), "memory_limiter");
  CHECK_STR(registry_suggest(COMPONENT_EXPORTER, "otlphtp"), "otlphttp");
  CHECK(registry_suggest(COMPONENT_EXPORTER, "kafka") == NULL);
  component_kind k;
  CHECK(registry_has_other_kind(COMPONENT_RECEIVER, "batch", &k) && k == COMPONENT_PROCESSOR);
  const component_factory *bt = registry_find(COMPONENT_EXTENSION, "bearertokenauth");
  CHECK(bt && (bt->caps & COMPONENT_CAP_SERVER_AUTH) && (bt->caps & COMPONENT_CAP_CLIENT_AUTH));
  const component_factory *fs = registry_find(COMPONENT_EXTENSION, "file_storage");
  CHECK(fs && (fs->caps & COMPONENT_CAP_STORAGE));
  CHECK_STR(component_kind_section(COMPONENT_PROCESSOR), "processors");
  CHECK_STR(component_kind_name(COMPONENT_EXTENSION), "extension");
}

static void test_component_ids(void) {
  char type[64];
  const char *name, *why;
  CHECK_EQ(component_id_parse("otlp/backend", type, sizeof type, &name, &why), 0);
  CHECK_STR(type, "otlp");
  CHECK_STR(name, "backend");
  CHECK_EQ(component_id_parse("memory_limiter", type, sizeof type, &name, &why), 0);
  CHECK(name == NULL);
  CHECK_EQ(component_id_parse("otlp/a/b", type, sizeof type, &name, &why), 0);
  CHECK_STR(name, "a/b");
  CHECK_EQ(component_id_parse("/x", type, sizeof type, &name, &why), -1);
  CHECK_EQ(component_id_parse("otlp/", type, sizeof type, &name, &why), -1);
  CHECK_STR(why, "the name after '/' is empty");
  CHECK_EQ(component_id_parse("9otlp", type, sizeof type, &name, &why), -1);
  CHECK_EQ(component_id_parse("ot-lp", type, sizeof type, &name, &why), -1);
  CHECK_EQ(component_id_parse("otlp/a b", type, sizeof type, &name, &why), -1);
}

static void test_ottl_subset(void) {
  filter_name_rule r;
  CHECK_EQ(filter_parse_condition("name == \"http.server.duration\"", &r), 0);
  CHECK(!r.regexp && !r.negate);
  CHECK_STR(r.pattern, "http.server.duration");
  free(r.pattern);
  CHECK_EQ(filter_parse_condition("  metric.name != \"x\"  ", &r), 0);
  CHECK(r.negate);
  free(r.pattern);
  CHECK_EQ(filter_parse_condition("\"y\" == name", &r), 0);
  CHECK_STR(r.pattern, "y");
  free(r.pattern);
  CHECK_EQ(filter_parse_condition("IsMatch(name, \"^jvm\\\\.gc\\\\..*\")", &r), 0);
  CHECK(r.regexp);
  CHECK_STR(r.pattern, "^jvm\\.gc\\..*");
  free(r.pattern);
  CHECK_EQ(filter_parse_condition("IsMatch(metric.name,\"a \\\"q\\\"\")", &r), 0);
  CHECK_STR(r.pattern, "a \"q\"");
  free(r.pattern);
  const char *unsupported[] = {
      "type == METRIC_DATA_TYPE_HISTOGRAM", "name == \"a\" or name == \"b\"", "name_x == \"a\"",
      "resource.attributes[\"k\"] == \"v\"", "IsMatch(name, \"x\") and true", "name == \"unterminated",
      "name ==", "", "IsMatch(description, \"x\")", "name == 5"};
  for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
    CHECK_MSG(filter_parse_condition(unsupported[i], &r) == -1, "accepted: %s", unsupported[i]);
}

int main(void) {
  RUN(test_defaults_and_values);
  RUN(test_value_typing);
  RUN(test_error_messages);
  RUN(test_emit_redacts);
  RUN(test_registry_schemas);
  RUN(test_registry_lookup);
  RUN(test_component_ids);
  RUN(test_ottl_subset);
  return test_finish();
}
