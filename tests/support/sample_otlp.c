/* sample_otlp.c — builders of realistic OTLP metrics requests for tests and benchmarks (see sample_otlp.h). */
#include "sample_otlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *sample_otlp_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fprintf(stderr, "sample_otlp: out of memory\n");
    abort();
  }
  return p;
}

char *sample_otlp_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = sample_otlp_xcalloc(1, n);
  memcpy(p, s, n);
  return p;
}

void sample_otlp_push(size_t *n, void ***arr, void *item) {
  void **grown = realloc(*arr, (*n + 1) * sizeof *grown);
  if (!grown) {
    fprintf(stderr, "sample_otlp: out of memory\n");
    abort();
  }
  grown[(*n)++] = item;
  *arr = grown;
}

/* Allocates and initialises one generated message: NEW(otlp_metric, opentelemetry__proto__metrics__v1__metric). */
#define NEW(type, prefix)                              \
  ({                                                   \
    type *m_ = sample_otlp_xcalloc(1, sizeof(type));   \
    prefix##__init(m_);                                \
    m_;                                                \
  })

static ProtobufCBinaryData bytes_of(const uint8_t *p, size_t n) {
  ProtobufCBinaryData b = {n, sample_otlp_xcalloc(1, n)};
  memcpy(b.data, p, n);
  return b;
}

static otlp_any *any_string(const char *s) {
  otlp_any *v = NEW(otlp_any, opentelemetry__proto__common__v1__any_value);
  v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  v->string_value = sample_otlp_xstrdup(s);
  return v;
}

static otlp_any *any_int(int64_t i) {
  otlp_any *v = NEW(otlp_any, opentelemetry__proto__common__v1__any_value);
  v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
  v->int_value = i;
  return v;
}

static otlp_kv *kv(const char *key, otlp_any *value) {
  otlp_kv *p = NEW(otlp_kv, opentelemetry__proto__common__v1__key_value);
  p->key = sample_otlp_xstrdup(key);
  p->value = value;
  return p;
}

otlp_kv *sample_otlp_kv_string(const char *key, const char *value) { return kv(key, any_string(value)); }
otlp_kv *sample_otlp_kv_int(const char *key, int64_t value) { return kv(key, any_int(value)); }

otlp_request *sample_otlp_request_new(void) {
  otlp_request *req = NEW(otlp_request, opentelemetry__proto__collector__metrics__v1__export_metrics_service_request);
  otlp_resource_metrics *rm = NEW(otlp_resource_metrics, opentelemetry__proto__metrics__v1__resource_metrics);
  rm->resource = NEW(otlp_resource, opentelemetry__proto__resource__v1__resource);
  otlp_scope_metrics *sm = NEW(otlp_scope_metrics, opentelemetry__proto__metrics__v1__scope_metrics);
  sm->scope = NEW(otlp_scope, opentelemetry__proto__common__v1__instrumentation_scope);
  SAMPLE_PUSH(rm->n_scope_metrics, rm->scope_metrics, sm);
  SAMPLE_PUSH(req->n_resource_metrics, req->resource_metrics, rm);
  return req;
}

void sample_otlp_add_metric(otlp_request *req, otlp_metric *m) {
  otlp_scope_metrics *sm = req->resource_metrics[0]->scope_metrics[0];
  SAMPLE_PUSH(sm->n_metrics, sm->metrics, m);
}

otlp_metric *sample_otlp_metric_new(const char *name, const char *unit) {
  otlp_metric *m = NEW(otlp_metric, opentelemetry__proto__metrics__v1__metric);
  m->name = sample_otlp_xstrdup(name);
  if (unit && unit[0]) m->unit = sample_otlp_xstrdup(unit);
  return m;
}

static otlp_number_point *number_point(void) {
  otlp_number_point *p = NEW(otlp_number_point, opentelemetry__proto__metrics__v1__number_data_point);
  p->start_time_unix_nano = SAMPLE_START_NS;
  p->time_unix_nano = SAMPLE_TIME_NS;
  return p;
}

static void point_as_int(otlp_number_point *p, int64_t v) {
  p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
  p->as_int = v;
}

static void point_as_double(otlp_number_point *p, double v) {
  p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
  p->as_double = v;
}

static const uint8_t sample_trace_id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t sample_span_id[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};

static otlp_exemplar *exemplar(void) {
  otlp_exemplar *e = NEW(otlp_exemplar, opentelemetry__proto__metrics__v1__exemplar);
  e->time_unix_nano = SAMPLE_TIME_NS - 1000;
  e->trace_id = bytes_of(sample_trace_id, sizeof sample_trace_id);
  e->span_id = bytes_of(sample_span_id, sizeof sample_span_id);
  return e;
}

static void add_resource_attributes(otlp_resource *res) {
  static const uint8_t blob[4] = {0xde, 0xad, 0xbe, 0xef};
  SAMPLE_PUSH(res->n_attributes, res->attributes, sample_otlp_kv_string("service.name", "checkout"));
  SAMPLE_PUSH(res->n_attributes, res->attributes, sample_otlp_kv_int("host.cores", 8));

  otlp_any *b = NEW(otlp_any, opentelemetry__proto__common__v1__any_value);
  b->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
  b->bool_value = 1;
  SAMPLE_PUSH(res->n_attributes, res->attributes, kv("sampled", b));

  otlp_any *d = NEW(otlp_any, opentelemetry__proto__common__v1__any_value);
  d->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
  d->double_value = 0.25;
  SAMPLE_PUSH(res->n_attributes, res->attributes, kv("ratio", d));

  otlp_any *by = NEW(otlp_any, opentelemetry__proto__common__v1__any_value);
  by->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
  by->bytes_value = bytes_of(blob, sizeof blob);
  SAMPLE_PUSH(res->n_attributes, res->attributes, kv("blob", by));

  otlp_array *inner = NEW(otlp_array, opentelemetry__proto__common__v1__array_value);
  SAMPLE_PUSH(inner->n_values, inner->values, any_string("x"));
  otlp_any *inner_v = NEW(otlp_any, opentelemetry__proto__common__v1__any_value);
  inner_v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
  inner_v->array_value = inner;
  otlp_array *arr = NEW(otlp_array, opentelemetry__proto__common__v1__array_value);
  SAMPLE_PUSH(arr->n_values, arr->values, any_string("a"));
  SAMPLE_PUSH(arr->n_values, arr->values, any_int(-1));
  SAMPLE_PUSH(arr->n_values, arr->values, inner_v);
  otlp_any *arr_v = NEW(otlp_any, opentelemetry__proto__common__v1__any_value);
  arr_v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
  arr_v->array_value = arr;
  SAMPLE_PUSH(res->n_attributes, res->attributes, kv("tags", arr_v));

  otlp_kvlist *list = NEW(otlp_kvlist, opentelemetry__proto__common__v1__key_value_list);
  SAMPLE_PUSH(list->n_values, list->values, sample_otlp_kv_string("k1", "v1"));
  SAMPLE_PUSH(list->n_values, list->values, sample_otlp_kv_int("k2", 2));
  otlp_any *list_v = NEW(otlp_any, opentelemetry__proto__common__v1__any_value);
  list_v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
  list_v->kvlist_value = list;
  SAMPLE_PUSH(res->n_attributes, res->attributes, kv("labels", list_v));
  res->dropped_attributes_count = 1;
}

static otlp_metric *full_requests_sum(void) {
  otlp_metric *m = sample_otlp_metric_new("requests", "1");
  m->description = sample_otlp_xstrdup("Requests served");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
  m->sum = NEW(otlp_sum, opentelemetry__proto__metrics__v1__sum);
  m->sum->is_monotonic = 1;
  m->sum->aggregation_temporality =
      OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
  otlp_number_point *p = number_point();
  point_as_int(p, 42);
  SAMPLE_PUSH(p->n_attributes, p->attributes, sample_otlp_kv_string("method", "GET"));
  otlp_exemplar *e = exemplar();
  e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT;
  e->as_int = 5;
  SAMPLE_PUSH(e->n_filtered_attributes, e->filtered_attributes, sample_otlp_kv_string("user", "u1"));
  SAMPLE_PUSH(p->n_exemplars, p->exemplars, e);
  SAMPLE_PUSH(m->sum->n_data_points, m->sum->data_points, p);
  p = number_point();
  point_as_int(p, -7);
  SAMPLE_PUSH(p->n_attributes, p->attributes, sample_otlp_kv_string("method", "POST"));
  SAMPLE_PUSH(m->sum->n_data_points, m->sum->data_points, p);
  SAMPLE_PUSH(m->n_metadata, m->metadata, sample_otlp_kv_string("origin", "sample"));
  return m;
}

static otlp_metric *full_queue_sum(void) {
  otlp_metric *m = sample_otlp_metric_new("queue.depth", "{item}");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
  m->sum = NEW(otlp_sum, opentelemetry__proto__metrics__v1__sum);
  m->sum->is_monotonic = 0;
  m->sum->aggregation_temporality = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
  otlp_number_point *p = number_point();
  point_as_double(p, 3.5);
  SAMPLE_PUSH(m->sum->n_data_points, m->sum->data_points, p);
  p = number_point();
  p->flags = OPENTELEMETRY__PROTO__METRICS__V1__DATA_POINT_FLAGS__DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK;
  SAMPLE_PUSH(m->sum->n_data_points, m->sum->data_points, p);
  return m;
}

static otlp_metric *full_gauge(void) {
  otlp_metric *m = sample_otlp_metric_new("temperature", "Cel");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
  m->gauge = NEW(otlp_gauge, opentelemetry__proto__metrics__v1__gauge);
  otlp_number_point *p = number_point();
  point_as_double(p, -12.25);
  SAMPLE_PUSH(m->gauge->n_data_points, m->gauge->data_points, p);
  p = number_point();
  point_as_int(p, 100);
  SAMPLE_PUSH(m->gauge->n_data_points, m->gauge->data_points, p);
  return m;
}

static otlp_histogram_point *histogram_point(const double *bounds, size_t nbounds, const uint64_t *counts) {
  otlp_histogram_point *p = NEW(otlp_histogram_point, opentelemetry__proto__metrics__v1__histogram_data_point);
  p->start_time_unix_nano = SAMPLE_START_NS;
  p->time_unix_nano = SAMPLE_TIME_NS;
  if (nbounds) {
    p->n_explicit_bounds = nbounds;
    p->explicit_bounds = sample_otlp_xcalloc(nbounds, sizeof(double));
    memcpy(p->explicit_bounds, bounds, nbounds * sizeof(double));
    p->n_bucket_counts = nbounds + 1;
    p->bucket_counts = sample_otlp_xcalloc(nbounds + 1, sizeof(uint64_t));
    memcpy(p->bucket_counts, counts, (nbounds + 1) * sizeof(uint64_t));
    for (size_t i = 0; i <= nbounds; i++) p->count += counts[i];
  }
  return p;
}

static otlp_metric *full_histogram(void) {
  static const double bounds[4] = {0.005, 0.01, 0.1, 1};
  static const uint64_t counts[5] = {1, 2, 3, 4, 5};
  otlp_metric *m = sample_otlp_metric_new("latency", "s");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
  m->histogram = NEW(otlp_histogram, opentelemetry__proto__metrics__v1__histogram);
  m->histogram->aggregation_temporality =
      OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
  otlp_histogram_point *p = histogram_point(bounds, 4, counts);
  p->sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
  p->sum = 12.5;
  p->min_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
  p->min = 0.001;
  p->max_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
  p->max = 3.0;
  SAMPLE_PUSH(m->histogram->n_data_points, m->histogram->data_points, p);
  SAMPLE_PUSH(m->histogram->n_data_points, m->histogram->data_points, histogram_point(NULL, 0, NULL));
  return m;
}

static otlp_exp_buckets *exp_buckets(int32_t offset, const uint64_t *counts, size_t n) {
  otlp_exp_buckets *b = NEW(otlp_exp_buckets, opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets);
  b->offset = offset;
  b->n_bucket_counts = n;
  b->bucket_counts = sample_otlp_xcalloc(n, sizeof(uint64_t));
  memcpy(b->bucket_counts, counts, n * sizeof(uint64_t));
  return b;
}

static otlp_metric *full_exp_histogram(void) {
  static const uint64_t pos[3] = {1, 0, 3}, neg[2] = {2, 1};
  otlp_metric *m = sample_otlp_metric_new("latency.exp", "s");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
  m->exponential_histogram = NEW(otlp_exp_histogram, opentelemetry__proto__metrics__v1__exponential_histogram);
  m->exponential_histogram->aggregation_temporality =
      OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
  otlp_exp_histogram_point *p =
      NEW(otlp_exp_histogram_point, opentelemetry__proto__metrics__v1__exponential_histogram_data_point);
  p->start_time_unix_nano = SAMPLE_START_NS;
  p->time_unix_nano = SAMPLE_TIME_NS;
  p->count = 9;
  p->sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
  p->sum = -1.5;
  p->min_present_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
  p->min = -4;
  p->max_present_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
  p->max = 10;
  p->scale = 3;
  p->zero_count = 2;
  p->zero_threshold = 1e-9;
  p->positive = exp_buckets(5, pos, 3);
  p->negative = exp_buckets(-3, neg, 2);
  otlp_exemplar *e = exemplar();
  e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
  e->as_double = 2.5;
  SAMPLE_PUSH(p->n_exemplars, p->exemplars, e);
  SAMPLE_PUSH(m->exponential_histogram->n_data_points, m->exponential_histogram->data_points, p);
  return m;
}

static otlp_metric *full_summary(void) {
  static const double qs[4][2] = {{0, 1}, {0.5, 9}, {0.99, 20}, {1, 25}};
  otlp_metric *m = sample_otlp_metric_new("rpc.duration", "ms");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
  m->summary = NEW(otlp_summary, opentelemetry__proto__metrics__v1__summary);
  otlp_summary_point *p = NEW(otlp_summary_point, opentelemetry__proto__metrics__v1__summary_data_point);
  p->start_time_unix_nano = SAMPLE_START_NS;
  p->time_unix_nano = SAMPLE_TIME_NS;
  p->count = 10;
  p->sum = 99.5;
  for (size_t i = 0; i < 4; i++) {
    otlp_quantile *q = NEW(otlp_quantile, opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile);
    q->quantile = qs[i][0];
    q->value = qs[i][1];
    SAMPLE_PUSH(p->n_quantile_values, p->quantile_values, q);
  }
  SAMPLE_PUSH(m->summary->n_data_points, m->summary->data_points, p);
  return m;
}

otlp_request *sample_otlp_full(void) {
  otlp_request *req = sample_otlp_request_new();
  otlp_resource_metrics *rm = req->resource_metrics[0];
  rm->schema_url = sample_otlp_xstrdup("https://opentelemetry.io/schemas/1.21.0");
  add_resource_attributes(rm->resource);
  otlp_scope *scope = rm->scope_metrics[0]->scope;
  scope->name = sample_otlp_xstrdup("otelc.test");
  scope->version = sample_otlp_xstrdup("1.2.3");
  SAMPLE_PUSH(scope->n_attributes, scope->attributes, sample_otlp_kv_string("scope.attr", "s"));
  sample_otlp_add_metric(req, full_requests_sum());
  sample_otlp_add_metric(req, full_queue_sum());
  sample_otlp_add_metric(req, full_gauge());
  sample_otlp_add_metric(req, full_histogram());
  sample_otlp_add_metric(req, full_exp_histogram());
  sample_otlp_add_metric(req, full_summary());
  return req;
}

static void add_point_attributes(size_t *n, otlp_kv ***arr, size_t attrs, size_t point) {
  char key[32], value[48];
  for (size_t k = 0; k < attrs; k++) {
    snprintf(key, sizeof key, "attr.%zu", k);
    snprintf(value, sizeof value, "value-%zu-%zu", k, point);
    sample_otlp_push(n, (void ***)arr, sample_otlp_kv_string(key, value));
  }
}

otlp_request *sample_otlp_parametric(size_t metrics, size_t points, size_t attrs) {
  static const double bounds[10] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  otlp_request *req = sample_otlp_request_new();
  otlp_resource *res = req->resource_metrics[0]->resource;
  SAMPLE_PUSH(res->n_attributes, res->attributes, sample_otlp_kv_string("service.name", "bench"));
  SAMPLE_PUSH(res->n_attributes, res->attributes, sample_otlp_kv_string("host.name", "node-1"));
  SAMPLE_PUSH(res->n_attributes, res->attributes, sample_otlp_kv_int("process.pid", 4242));
  otlp_scope *scope = req->resource_metrics[0]->scope_metrics[0]->scope;
  scope->name = sample_otlp_xstrdup("otelc.bench");

  char name[32];
  for (size_t i = 0; i < metrics; i++) {
    snprintf(name, sizeof name, "metric.%zu", i);
    otlp_metric *m = sample_otlp_metric_new(name, i % 4 == 3 ? "s" : "1");
    switch (i % 4) {
    case 0:
    case 2: {
      m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
      m->sum = NEW(otlp_sum, opentelemetry__proto__metrics__v1__sum);
      m->sum->is_monotonic = i % 4 == 0;
      m->sum->aggregation_temporality =
          i % 4 == 0 ? OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
                     : OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
      for (size_t j = 0; j < points; j++) {
        otlp_number_point *p = number_point();
        if (i % 4 == 0) point_as_int(p, (int64_t)(i * 1000 + j));
        else point_as_double(p, (double)j * 0.5);
        add_point_attributes(&p->n_attributes, &p->attributes, attrs, j);
        SAMPLE_PUSH(m->sum->n_data_points, m->sum->data_points, p);
      }
      break;
    }
    case 1: {
      m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
      m->gauge = NEW(otlp_gauge, opentelemetry__proto__metrics__v1__gauge);
      for (size_t j = 0; j < points; j++) {
        otlp_number_point *p = number_point();
        point_as_double(p, (double)i + (double)j / 8);
        add_point_attributes(&p->n_attributes, &p->attributes, attrs, j);
        SAMPLE_PUSH(m->gauge->n_data_points, m->gauge->data_points, p);
      }
      break;
    }
    default: {
      m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
      m->histogram = NEW(otlp_histogram, opentelemetry__proto__metrics__v1__histogram);
      m->histogram->aggregation_temporality =
          OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
      for (size_t j = 0; j < points; j++) {
        uint64_t counts[11];
        for (size_t k = 0; k < 11; k++) counts[k] = (j + k) % 7;
        otlp_histogram_point *p = histogram_point(bounds, 10, counts);
        p->sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
        p->sum = (double)p->count * 0.3;
        add_point_attributes(&p->n_attributes, &p->attributes, attrs, j);
        SAMPLE_PUSH(m->histogram->n_data_points, m->histogram->data_points, p);
      }
      break;
    }
    }
    sample_otlp_add_metric(req, m);
  }
  return req;
}

void sample_otlp_free(otlp_request *req) {
  if (req) protobuf_c_message_free_unpacked(&req->base, NULL);
}
