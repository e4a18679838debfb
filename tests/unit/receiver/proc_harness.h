/* proc_harness.h — runs one receiver processor outside the runtime for unit tests: decodes its YAML config
 * with the component's schema, creates it with a sink as its next consumer, pushes batches through and
 * collects what comes out. Header-only (static functions), shared by the test_processor_*.c files. */
#ifndef OTELC_TEST_PROC_HARNESS_H
#define OTELC_TEST_PROC_HARNESS_H

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/config/schema.h"
#include "receiver/config/yaml_load.h"
#include "receiver/pipeline.h"
#include "sample_otlp.h"
#include "testlib.h"

/* A batch holding `req` as the receiver would decode it (req is freed). */
static component_metrics *batch_of(otlp_request *req) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err e;
  CHECK(wire_otlp_encode_request(req, &b, &e) == 0);
  component_metrics *m = metrics_decode(b.data, b.len, 0, 0, &e);
  CHECK(m != NULL);
  wire_buf_free(&b);
  sample_otlp_free(req);
  return m;
}

/* The next consumer: keeps the first four batches it gets, releases the others. */
typedef struct sink {
  component_metrics *got[4];
  int n;
} sink;

static int sink_consume(void *ctx, component_metrics *batch, wire_err *err) {
  (void)err;
  sink *s = ctx;
  if (s->n < 4) s->got[s->n++] = batch;
  else metrics_unref(batch);
  return 0;
}

static void sink_clear(sink *s) {
  for (int i = 0; i < s->n; i++) metrics_unref(s->got[i]);
  s->n = 0;
}

typedef struct proc {
  const cfg_schema *schema;
  const component_hooks *hooks;
  cfg_arena *arena;
  alignas(max_align_t) unsigned char cfg[4096]; /* the component's decoded config struct */
  void *state;
  sink out;
  wire_err err;
} proc;

/* Decodes `yaml` with `schema` and creates the processor (id `id`); returns 0 or -1 (p->err). With !cfg_ok the
 * config layer is expected to refuse the config too (create must still fail on its own). */
static int proc_harness_open(proc *p, const cfg_schema *schema, const component_hooks *hooks, const char *id,
                             const char *yaml, bool cfg_ok) {
  memset(p, 0, sizeof *p);
  p->schema = schema;
  p->hooks = hooks;
  cfg_diags d;
  cfg_diags_init(&d);
  p->arena = cfg_arena_new(0);
  cfg_node *n = cfg_yaml_parse(p->arena, "t.yaml", yaml, strlen(yaml), &d);
  cfg_ctx ctx;
  cfg_ctx_init(&ctx, &d);
  size_t errors = cfg_decode(schema, p->cfg, n, &ctx);
  if (cfg_ok)
    CHECK_MSG(errors == 0, "config errors: %s", cfg_diags_first_error(&d) ? cfg_diags_first_error(&d) : "?");
  else
    CHECK(errors > 0);
  cfg_ctx_free(&ctx);
  cfg_diags_free(&d);
  component_create_args args = {.id = id, .kind = COMPONENT_PROCESSOR, .config = p->cfg,
                                .next = {.consume_metrics = sink_consume, .ctx = &p->out}};
  return hooks->create(&args, &p->state, &p->err);
}

static void proc_close(proc *p) {
  sink_clear(&p->out);
  if (p->state) p->hooks->destroy(p->state);
  cfg_free(p->schema, p->cfg);
  cfg_arena_free(p->arena);
}

/* Runs one batch through; returns what came out (owned by the sink), or NULL when nothing was forwarded. */
static component_metrics *proc_run(proc *p, component_metrics *in) {
  int before = p->out.n;
  if (!p->state) {
    metrics_unref(in);
    return NULL;
  }
  CHECK(p->hooks->consume_metrics(p->state, in, &p->err) == 0);
  return p->out.n > before ? p->out.got[before] : NULL;
}

#endif
