/* exporter_console.c — the console exporter: each batch as readable text, one line per data point, e.g.
 *
 *   otelc export: 2 metrics, 3 points, resource {service.name="jobs", process.pid=4242, ...}
 *   jobs.done{queue="mail"} sum(int,monotonic,cumulative) 42
 *   job.duration{queue="mail"} histogram(delta) count=3 sum=1.25 min=0.25 max=0.5 le5=3 le10=0 ... inf=0
 *
 * Writes to a FILE* the caller keeps (stdout, stderr or a file); each batch is decoded from its bytes (into
 * an arena freed after printing), written under the stream's lock and flushed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sdk/src/internal.h"

static void print_any(FILE *f, const otlp_any *v) {
  if (!v) {
    fputs("null", f);
    return;
  }
  switch (v->value_case) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: fprintf(f, "\"%s\"", v->string_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: fprintf(f, "%" PRId64, v->int_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: fprintf(f, "%g", v->double_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE: fputs(v->bool_value ? "true" : "false", f); break;
  default: fputs("?", f); break;
  }
}

static void print_attrs(FILE *f, otlp_kv **kv, size_t n) {
  fputc('{', f);
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "%s%s=", i ? ", " : "", kv[i]->key);
    print_any(f, kv[i]->value);
  }
  fputc('}', f);
}

static const char *temporality(int t) {
  return t == OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA ? "delta"
                                                                                                       : "cumulative";
}

static void print_number(FILE *f, const otlp_number_point *pt) {
  if (pt->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
    fprintf(f, " %.17g\n", pt->as_double);
  else
    fprintf(f, " %" PRId64 "\n", pt->as_int);
}

static void print_metric(FILE *f, const otlp_metric *m) {
  switch (m->data_case) {
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
    for (size_t i = 0; i < m->sum->n_data_points; i++) {
      const otlp_number_point *pt = m->sum->data_points[i];
      fputs(m->name, f);
      print_attrs(f, pt->attributes, pt->n_attributes);
      fprintf(f, " sum(%s,%s%s)",
              pt->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE ? "double" : "int",
              m->sum->is_monotonic ? "monotonic," : "", temporality(m->sum->aggregation_temporality));
      print_number(f, pt);
    }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
    for (size_t i = 0; i < m->gauge->n_data_points; i++) {
      const otlp_number_point *pt = m->gauge->data_points[i];
      fputs(m->name, f);
      print_attrs(f, pt->attributes, pt->n_attributes);
      fputs(" gauge", f);
      print_number(f, pt);
    }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    for (size_t i = 0; i < m->histogram->n_data_points; i++) {
      const otlp_histogram_point *pt = m->histogram->data_points[i];
      fputs(m->name, f);
      print_attrs(f, pt->attributes, pt->n_attributes);
      fprintf(f, " histogram(%s) count=%" PRIu64 " sum=%g", temporality(m->histogram->aggregation_temporality),
              pt->count, pt->sum);
      if (pt->min_present_case) fprintf(f, " min=%g max=%g", pt->min, pt->max);
      for (size_t b = 0; b < pt->n_bucket_counts; b++) {
        if (b < pt->n_explicit_bounds) fprintf(f, " le%g=%" PRIu64, pt->explicit_bounds[b], pt->bucket_counts[b]);
        else fprintf(f, " inf=%" PRIu64, pt->bucket_counts[b]);
      }
      fputc('\n', f);
    }
    break;
  case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
    for (size_t i = 0; i < m->exponential_histogram->n_data_points; i++) {
      const otlp_exp_histogram_point *pt = m->exponential_histogram->data_points[i];
      fputs(m->name, f);
      print_attrs(f, pt->attributes, pt->n_attributes);
      fprintf(f, " exp_histogram(%s) count=%" PRIu64 " sum=%g scale=%d zero=%" PRIu64,
              temporality(m->exponential_histogram->aggregation_temporality), pt->count, pt->sum, pt->scale,
              pt->zero_count);
      if (pt->min_present_case) fprintf(f, " min=%g max=%g", pt->min, pt->max);
      const otlp_exp_buckets *sides[2] = {pt->positive, pt->negative};
      for (int s = 0; s < 2; s++) {
        if (!sides[s] || !sides[s]->n_bucket_counts) continue;
        fprintf(f, " %s[offset=%d]:", s ? "neg" : "pos", sides[s]->offset);
        for (size_t b = 0; b < sides[s]->n_bucket_counts; b++)
          fprintf(f, "%s%" PRIu64, b ? "," : "", sides[s]->bucket_counts[b]);
      }
      fputc('\n', f);
    }
    break;
  default:
    fprintf(f, "%s (unsupported data type)\n", m->name);
    break;
  }
}

static otelc_export_result console_export(otelc_exporter *self, const otelc_export_batch *batch, int64_t deadline) {
  FILE *f = self->user;
  (void)deadline;
  /* The SDK hands over bytes only (batch->request is NULL): decode them into an arena for printing. */
  const otlp_request *req = batch->request;
  otlp_arena arena;
  otlp_arena_init(&arena, 0);
  if (!req) {
    wire_err err;
    wire_err_clear(&err);
    req = wire_otlp_decode_request(batch->data, batch->len, 0, &arena, &err);
    if (!req) {
      fprintf(stderr, "otelc console exporter: the batch does not decode: %s\n", err.msg);
      otlp_arena_free(&arena);
      return OTELC_EXPORT_FAILURE;
    }
  }
  flockfile(f);
  for (size_t r = 0; r < req->n_resource_metrics; r++) {
    const otlp_resource_metrics *rm = req->resource_metrics[r];
    fprintf(f, "otelc export: %zu metrics, %zu points, resource ", batch->n_metrics, batch->n_points);
    if (rm->resource) print_attrs(f, rm->resource->attributes, rm->resource->n_attributes);
    fputc('\n', f);
    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
      const otlp_scope_metrics *sm = rm->scope_metrics[s];
      for (size_t m = 0; m < sm->n_metrics; m++) print_metric(f, sm->metrics[m]);
    }
  }
  fflush(f);
  funlockfile(f);
  otlp_arena_free(&arena);
  return ferror(f) ? OTELC_EXPORT_FAILURE : OTELC_EXPORT_SUCCESS;
}

static void console_destroy(otelc_exporter *self) { free(self); }

otelc_exporter *otelc_console_exporter_create(FILE *out) {
  otelc_exporter *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->name = "console";
  e->export_batch = console_export;
  e->destroy = console_destroy;
  e->user = out ? out : stderr;
  return e;
}
