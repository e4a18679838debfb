// fuzz-links: receiver
/* fuzz_processors.c — libFuzzer target for the resource, attributes and filter processors on peer data.
 *
 * The input is decoded as an OTLP request (like the receiver does); what decodes is run through a chain
 * resource -> attributes -> filter whose actions touch everything (insert/update/upsert from values, attributes
 * and metadata, delete and hash by key and pattern, extract, convert to each type, include/exclude by names,
 * attributes and resources). Every other batch is shared with a second holder, so the copy-on-write path runs
 * too: the holder's view must re-encode to the very bytes it had. What comes out must encode, and its point count
 * must be what metrics_update counted. Never a crash, a leak or unbounded memory.
 * Seed corpus: tests/fuzz/corpus/processors/ (OTLP requests; the otlp_decode corpus works too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/config/components/filter.h"
#include "receiver/config/schema.h"
#include "receiver/config/yaml_load.h"
#include "receiver/pipeline.h"
#include "receiver/processors/attributes.h"
#include "receiver/processors/filter.h"
#include "receiver/processors/resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGE (1u << 20)
#define ARENA_LIMIT (32u << 20)

static const char resource_yaml[] =
    "attributes:\n"
    "  - {key: service.instance.id, from_attribute: k8s.pod.name, action: upsert}\n"
    "  - {key: tenant, from_context: metadata.x-tenant, action: insert}\n"
    "  - {key: service.name, value: svc, action: insert}\n"
    "  - {pattern: '^(secret|token)', action: delete}\n"
    "  - {key: service.name, pattern: '\\.name$', action: hash}\n"
    "  - {key: k8s.pod.name, pattern: '^(?P<app>[a-z]+)-(?P<rest>.*)$', action: extract}\n"
    "  - {key: host.cores, action: convert, converted_type: string}\n";

static const char attributes_yaml[] =
    "include: {match_type: regexp, metric_names: ['.'], attributes: [{key: a}]}\n"
    "exclude: {match_type: strict, resources: [{key: env, value: dev}], libraries: [{name: x}]}\n"
    "actions:\n"
    "  - {key: b, from_attribute: a, action: upsert}\n"
    "  - {key: a, action: convert, converted_type: int}\n"
    "  - {key: b, action: convert, converted_type: double}\n"
    "  - {key: c, value: 1.5, action: insert}\n"
    "  - {key: c, action: convert, converted_type: string}\n"
    "  - {key: a, value: true, action: update}\n"
    "  - {key: b, pattern: '(?P<x>\\d+)', action: extract}\n"
    "  - {pattern: '^[b-z]$', action: hash}\n"
    "  - {key: x, action: delete}\n";

static const char filter_yaml[] =
    "metrics:\n"
    "  include: {match_type: regexp, metric_names: ['^[a-m]', '\\d'], resource_attributes: [{key: service.name}]}\n"
    "  exclude: {match_type: strict, metric_names: [drop]}\n";

typedef struct chain_proc {
  const component_hooks *hooks;
  const cfg_schema *schema;
  const char *yaml;
  void *config;
  void *state;
} chain_proc;

static resource_processor_config resource_cfg;
static attributes_processor_config attributes_cfg;
static filter_processor_config filter_cfg;
static chain_proc chain[3] = {
    {&resource_processor_hooks, &resource_processor_schema, resource_yaml, &resource_cfg, NULL},
    {&attributes_processor_hooks, &attributes_processor_schema, attributes_yaml, &attributes_cfg, NULL},
    {&filter_processor_hooks, &filter_processor_schema, filter_yaml, &filter_cfg, NULL},
};

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_processors: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

static void encode(const component_metrics *m, wire_buf *out) {
  wire_err err;
  wire_buf_init(out, 0);
  if (m->req && wire_otlp_encode_request(m->req, out, &err) < 0) die("encode failed", err.msg);
}

static int last_consume(void *ctx, component_metrics *batch, wire_err *err) {
  (void)ctx;
  (void)err;
  uint64_t points = batch->req ? wire_otlp_count_points(batch->req) : 0;
  if (points != batch->points) die("point count not kept up to date", NULL);
  wire_buf b;
  encode(batch, &b);
  wire_buf_free(&b);
  metrics_unref(batch);
  return 0;
}

static int next_consume(void *ctx, component_metrics *batch, wire_err *err) {
  chain_proc *p = ctx;
  return p->hooks->consume_metrics(p->state, batch, err);
}

static void setup(void) {
  static cfg_arena *arena;
  cfg_diags d;
  cfg_diags_init(&d);
  arena = cfg_arena_new(0);
  for (int i = 2; i >= 0; i--) {
    chain_proc *p = &chain[i];
    cfg_node *n = cfg_yaml_parse(arena, "fuzz.yaml", p->yaml, strlen(p->yaml), &d);
    cfg_ctx ctx;
    cfg_ctx_init(&ctx, &d);
    if (cfg_decode(p->schema, p->config, n, &ctx)) die("config", cfg_diags_first_error(&d));
    cfg_ctx_free(&ctx);
    component_create_args args = {.id = "fuzz", .kind = COMPONENT_PROCESSOR, .config = p->config};
    args.next = i == 2 ? (component_consumer){last_consume, NULL} : (component_consumer){next_consume, &chain[i + 1]};
    wire_err err;
    if (p->hooks->create(&args, &p->state, &err) < 0) die("create", err.msg);
  }
  cfg_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  static unsigned round;
  if (!ready) {
    setup();
    ready = true;
  }
  wire_err err;
  component_metrics *m = metrics_decode(data, size, MAX_MESSAGE, ARENA_LIMIT, &err);
  if (!m) return 0;
  m->metadata = calloc(1, sizeof *m->metadata);
  if (!m->metadata) die("out of memory", NULL);
  wire_headers_init(m->metadata, 0, 0);
  wire_headers_add_cstr(m->metadata, "x-tenant", "t1", &err);
  bool shared = round++ % 2;
  component_metrics *holder = shared ? metrics_ref(m) : NULL;
  wire_buf before;
  if (holder) encode(holder, &before);
  (void)chain[0].hooks->consume_metrics(chain[0].state, m, &err);
  if (holder) {
    wire_buf after;
    encode(holder, &after);
    if (after.len != before.len || memcmp(after.data, before.data, after.len))
      die("a shared batch was modified", NULL);
    wire_buf_free(&after);
    wire_buf_free(&before);
    metrics_unref(holder);
  }
  if (pipeline_batches_live() != 0) die("a batch was leaked", NULL);
  return 0;
}
