/* test_processor_resource.c — the `resource` processor and the attribute action engine it shares with the
 * attributes processor: every action and value source with exact results on a realistic batch, the seeds'
 * example (service.instance.id from k8s.pod.name), copy on write, errors at create, Go-compatible formatting. */
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/config/schema.h"
#include "receiver/config/yaml_load.h"
#include "receiver/pipeline.h"
#include "receiver/processors/attr_actions_run.h"
#include "receiver/processors/resource.h"
#include "sample_otlp.h"
#include "testlib.h"
#include "wire/http.h"

/* ---- helpers (the shared harness: proc_harness.h) ---- */

#include "proc_harness.h"

_Static_assert(sizeof(resource_processor_config) <= sizeof(((proc *)0)->cfg), "proc_harness cfg too small");

static int proc_open_cfg(proc *p, const char *yaml, bool cfg_ok) {
  return proc_harness_open(p, &resource_processor_schema, &resource_processor_hooks, "resource/test", yaml, cfg_ok);
}

static int proc_open(proc *p, const char *yaml) { return proc_open_cfg(p, yaml, true); }

static otlp_resource *res_of(component_metrics *m) { return m->req->resource_metrics[0]->resource; }

static const otlp_any *attr(otlp_kv *const *kv, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(kv[i]->key, key)) return kv[i]->value;
  return NULL;
}

static const otlp_any *rattr(component_metrics *m, const char *key) {
  otlp_resource *r = res_of(m);
  return attr(r->attributes, r->n_attributes, key);
}

static const char *rstr(component_metrics *m, const char *key) {
  const otlp_any *v = rattr(m, key);
  return v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE ? v->string_value
                                                                                                : NULL;
}

/* The seeds' resource: a pod's attributes as the k8sattributes processor leaves them. */
static otlp_request *pod_request(bool with_instance_id) {
  otlp_request *req = sample_otlp_request_new();
  otlp_resource *r = req->resource_metrics[0]->resource;
  SAMPLE_PUSH(r->n_attributes, r->attributes, sample_otlp_kv_string("k8s.pod.name", "my-app-xyz-7d8f9c"));
  SAMPLE_PUSH(r->n_attributes, r->attributes, sample_otlp_kv_string("k8s.namespace.name", "default"));
  if (with_instance_id)
    SAMPLE_PUSH(r->n_attributes, r->attributes, sample_otlp_kv_string("service.instance.id", "from-sdk"));
  otlp_metric *m = sample_otlp_metric_new("requests", "1");
  m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
  m->gauge = sample_otlp_xcalloc(1, sizeof *m->gauge);
  opentelemetry__proto__metrics__v1__gauge__init(m->gauge);
  otlp_number_point *pt = sample_otlp_xcalloc(1, sizeof *pt);
  opentelemetry__proto__metrics__v1__number_data_point__init(pt);
  pt->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
  pt->as_int = 1;
  SAMPLE_PUSH(m->gauge->n_data_points, m->gauge->data_points, pt);
  sample_otlp_add_metric(req, m);
  return req;
}

/* ---- the seeds' example ---- */

static void test_seed_instance_id_from_pod_name(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n"
                      "  - key: service.instance.id\n"
                      "    from_attribute: k8s.pod.name\n"
                      "    action: insert\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(pod_request(false)));
  CHECK_STR(rstr(out, "service.instance.id"), "my-app-xyz-7d8f9c");
  CHECK_EQ(res_of(out)->n_attributes, 3);
  CHECK_STR(res_of(out)->attributes[2]->key, "service.instance.id"); /* appended, others kept in order */
  CHECK_EQ(out->points, 1);
  /* insert leaves an existing value alone */
  out = proc_run(&p, batch_of(pod_request(true)));
  CHECK_STR(rstr(out, "service.instance.id"), "from-sdk");
  proc_close(&p);

  CHECK(proc_open(&p, "attributes:\n"
                      "  - key: service.instance.id\n"
                      "    from_attribute: k8s.pod.name\n"
                      "    action: upsert\n") == 0);
  out = proc_run(&p, batch_of(pod_request(true)));
  CHECK_STR(rstr(out, "service.instance.id"), "my-app-xyz-7d8f9c");
  CHECK_EQ(res_of(out)->n_attributes, 3);
  out = proc_run(&p, batch_of(pod_request(false)));
  CHECK_STR(rstr(out, "service.instance.id"), "my-app-xyz-7d8f9c");
  /* the result survives encoding (new attributes are proper messages) */
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err e;
  CHECK(wire_otlp_encode_request(out->req, &b, &e) == 0);
  component_metrics *again = metrics_decode(b.data, b.len, 0, 0, &e);
  CHECK(again != NULL);
  if (again) CHECK_STR(rstr(again, "service.instance.id"), "my-app-xyz-7d8f9c");
  metrics_unref(again);
  wire_buf_free(&b);
  proc_close(&p);
}

/* ---- each action ---- */

static void test_insert_values_of_each_type(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n"
                      "  - {key: env, value: prod, action: insert}\n"
                      "  - {key: shard, value: 7, action: insert}\n"
                      "  - {key: weight, value: 0.5, action: insert}\n"
                      "  - {key: canary, value: true, action: insert}\n"
                      "  - {key: service.name, value: other, action: insert}\n"
                      "  - {key: missing, from_attribute: nope, action: insert}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_STR(rstr(out, "env"), "prod");
  const otlp_any *v = rattr(out, "shard");
  CHECK(v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE && v->int_value == 7);
  v = rattr(out, "weight");
  CHECK(v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
  if (v) CHECK_DBL(v->double_value, 0.5);
  v = rattr(out, "canary");
  CHECK(v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE && v->bool_value);
  CHECK_STR(rstr(out, "service.name"), "checkout"); /* present: insert does nothing */
  CHECK(rattr(out, "missing") == NULL);              /* absent source: nothing */
  CHECK_EQ(res_of(out)->n_attributes, 7 + 4);
  CHECK_EQ(res_of(out)->dropped_attributes_count, 1);
  CHECK_EQ(out->points, SAMPLE_FULL_POINTS);
  proc_close(&p);
}

static void test_update_and_upsert(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n"
                      "  - {key: service.name, value: cart, action: update}\n"
                      "  - {key: absent, value: x, action: update}\n"
                      "  - {key: host.cores, value: \"many\", action: upsert}\n"
                      "  - {key: region, value: eu, action: upsert}\n"
                      "  - {key: copy, from_attribute: labels, action: upsert}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_STR(rstr(out, "service.name"), "cart");
  CHECK(rattr(out, "absent") == NULL);
  CHECK_STR(rstr(out, "host.cores"), "many");
  CHECK_STR(rstr(out, "region"), "eu");
  const otlp_any *c = rattr(out, "copy");
  CHECK(c && c->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE &&
        c->kvlist_value->n_values == 2);
  CHECK_STR(res_of(out)->attributes[0]->key, "service.name"); /* updated in its place */
  CHECK_EQ(res_of(out)->n_attributes, 9);
  proc_close(&p);
}

static void test_delete_by_key_and_pattern(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n"
                      "  - {key: blob, action: delete}\n"
                      "  - {pattern: '^(sampled|ratio)$', action: delete}\n"
                      "  - {key: not.there, action: delete}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  otlp_resource *r = res_of(out);
  CHECK_EQ(r->n_attributes, 4);
  CHECK_STR(r->attributes[0]->key, "service.name");
  CHECK_STR(r->attributes[1]->key, "host.cores");
  CHECK_STR(r->attributes[2]->key, "tags");
  CHECK_STR(r->attributes[3]->key, "labels");
  proc_close(&p);
}

static void test_hash(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n"
                      "  - {key: service.name, action: hash}\n"
                      "  - {pattern: '^(host\\.cores|ratio|sampled)$', action: hash}\n"
                      "  - {key: tags, action: hash}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_STR(rstr(out, "service.name"), "c7761e58969f7edd498186641b2021e8477e1bcd230de4cf3435242da4a40d14");
  CHECK_STR(rstr(out, "host.cores"), "6cc16abd70eefb90dc0ba0d14fb088630873b2c6ad943f7442356735984c35a3");
  CHECK_STR(rstr(out, "ratio"), "272f78036db6721f7cf7444315e5f6360426d14c3d446d6ae8a89ef70d134002");
  CHECK_STR(rstr(out, "sampled"), "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a");
  CHECK_STR(rstr(out, "tags"), ""); /* the Collector hashes only scalars; others become "" */
  CHECK_EQ(res_of(out)->n_attributes, 7);
  proc_close(&p);
}

static void test_extract(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n"
                      "  - key: k8s.pod.name\n"
                      "    pattern: '^(?P<app>[a-z-]+?)-(?P<hash>[0-9a-z]+)$'\n"
                      "    action: extract\n"
                      "  - key: k8s.pod.name\n"
                      "    pattern: '^(?P<never>\\d+)$'\n"
                      "    action: extract\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(pod_request(false)));
  CHECK_STR(rstr(out, "app"), "my-app-xyz");
  CHECK_STR(rstr(out, "hash"), "7d8f9c");
  CHECK(rattr(out, "never") == NULL);
  CHECK_STR(rstr(out, "k8s.pod.name"), "my-app-xyz-7d8f9c");
  proc_close(&p);

  /* an optional group that did not take part gives "", and extract overwrites existing keys */
  CHECK(proc_open(&p, "attributes:\n"
                      "  - {key: env, value: old, action: upsert}\n"
                      "  - {key: k8s.namespace.name, pattern: '^(?P<env>def)(?P<opt>x)?', action: extract}\n") == 0);
  out = proc_run(&p, batch_of(pod_request(false)));
  CHECK_STR(rstr(out, "env"), "def");
  CHECK_STR(rstr(out, "opt"), "");
  CHECK_EQ(res_of(out)->n_attributes, 4);
  proc_close(&p);
}

static void test_convert(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n"
                      "  - {key: host.cores, action: convert, converted_type: string}\n"
                      "  - {key: ratio, action: convert, converted_type: string}\n"
                      "  - {key: sampled, action: convert, converted_type: int}\n"
                      "  - {key: num, value: \"-12\", action: insert}\n"
                      "  - {key: num, action: convert, converted_type: int}\n"
                      "  - {key: dbl, value: \"2.5e3\", action: insert}\n"
                      "  - {key: dbl, action: convert, converted_type: double}\n"
                      "  - {key: bad, value: \"12x\", action: insert}\n"
                      "  - {key: bad, action: convert, converted_type: int}\n"
                      "  - {key: labels, action: convert, converted_type: string}\n"
                      "  - {key: tags, action: convert, converted_type: string}\n"
                      "  - {key: blob, action: convert, converted_type: string}\n"
                      "  - {key: service.name, action: convert, converted_type: double}\n") == 0);
  component_metrics *out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK_STR(rstr(out, "host.cores"), "8");
  CHECK_STR(rstr(out, "ratio"), "0.25");
  const otlp_any *v = rattr(out, "sampled");
  CHECK(v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE && v->int_value == 1);
  v = rattr(out, "num");
  CHECK(v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE && v->int_value == -12);
  v = rattr(out, "dbl");
  CHECK(v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
  if (v) CHECK_DBL(v->double_value, 2500);
  CHECK_STR(rstr(out, "bad"), "12x"); /* not convertible: left as it is */
  CHECK_STR(rstr(out, "labels"), "{\"k1\":\"v1\",\"k2\":2}");
  CHECK_STR(rstr(out, "tags"), "[\"a\",-1,[\"x\"]]");
  CHECK_STR(rstr(out, "blob"), "3q2+7w==");
  CHECK_STR(rstr(out, "service.name"), "checkout");
  proc_close(&p);
}

/* ---- value sources from the request context ---- */

static void test_from_context(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n"
                      "  - {key: tenant, from_context: metadata.X-Tenant, action: upsert}\n"
                      "  - {key: tenant2, from_context: x-tenant, action: insert}\n"
                      "  - {key: who, from_context: auth.subject, action: insert}\n"
                      "  - {key: nothing, from_context: metadata.absent, action: insert}\n"
                      "  - {key: addr, from_context: client.address, action: insert}\n") == 0);
  component_metrics *in = batch_of(sample_otlp_full());
  in->metadata = calloc(1, sizeof *in->metadata);
  wire_headers_init(in->metadata, 0, 0);
  wire_err e;
  wire_headers_add_cstr(in->metadata, "X-Tenant", "acme", &e);
  wire_headers_add_cstr(in->metadata, "content-type", "application/x-protobuf", &e);
  wire_headers_add_cstr(in->metadata, "x-tenant", "beta", &e);
  in->auth_subject = "svc-a";
  component_metrics *out = proc_run(&p, in);
  CHECK_STR(rstr(out, "tenant"), "acme;beta");
  CHECK_STR(rstr(out, "tenant2"), "acme;beta");
  CHECK_STR(rstr(out, "who"), "svc-a");
  CHECK(rattr(out, "nothing") == NULL);
  CHECK(rattr(out, "addr") == NULL);
  /* without include_metadata there is no metadata: nothing is set */
  out = proc_run(&p, batch_of(sample_otlp_full()));
  CHECK(rattr(out, "tenant") == NULL);
  CHECK(rattr(out, "who") == NULL);
  proc_close(&p);
}

/* ---- batches ---- */

static void test_resource_created_when_missing(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n  - {key: env, value: prod, action: upsert}\n") == 0);
  otlp_request *req = sample_otlp_request_new();
  otlp_resource_metrics *rm = req->resource_metrics[0];
  opentelemetry__proto__resource__v1__resource__free_unpacked(rm->resource, NULL);
  rm->resource = NULL;
  component_metrics *out = proc_run(&p, batch_of(req));
  CHECK(res_of(out) != NULL);
  if (res_of(out)) CHECK_STR(rstr(out, "env"), "prod");
  proc_close(&p);
}

static void test_copy_on_write(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n  - {key: service.instance.id, from_attribute: k8s.pod.name, action: insert}\n") ==
        0);
  /* shared with another consumer and changed: the processor works on a copy */
  component_metrics *in = batch_of(pod_request(false));
  metrics_ref(in); /* the other consumer's reference */
  component_metrics *out = proc_run(&p, in);
  CHECK(out != in);
  CHECK_STR(rstr(out, "service.instance.id"), "my-app-xyz-7d8f9c");
  CHECK(rattr(in, "service.instance.id") == NULL);
  CHECK_EQ(res_of(in)->n_attributes, 2);
  metrics_unref(in);
  sink_clear(&p.out);
  /* shared but nothing to change: forwarded as it is, not copied */
  in = batch_of(pod_request(true));
  metrics_ref(in);
  out = proc_run(&p, in);
  CHECK(out == in);
  CHECK_STR(rstr(out, "service.instance.id"), "from-sdk");
  metrics_unref(in);
  sink_clear(&p.out);
  /* exclusive: modified in place */
  in = batch_of(pod_request(false));
  out = proc_run(&p, in);
  CHECK(out == in);
  proc_close(&p);
  CHECK_EQ(pipeline_batches_live(), 0);
}

static void test_many_resources(void) {
  proc p;
  CHECK(proc_open(&p, "attributes:\n  - {key: n, value: 1, action: insert}\n  - {key: host.name, action: delete}\n") ==
        0);
  otlp_request *req = sample_otlp_request_new();
  for (int i = 0; i < 50; i++) {
    otlp_request *other = pod_request(i % 2);
    otlp_resource_metrics *rm = other->resource_metrics[0];
    SAMPLE_PUSH(rm->resource->n_attributes, rm->resource->attributes, sample_otlp_kv_string("host.name", "node"));
    other->n_resource_metrics = 0;
    SAMPLE_PUSH(req->n_resource_metrics, req->resource_metrics, rm);
    sample_otlp_free(other);
  }
  component_metrics *out = proc_run(&p, batch_of(req));
  CHECK_EQ(out->req->n_resource_metrics, 51);
  for (size_t i = 0; i < out->req->n_resource_metrics; i++) {
    otlp_resource *r = out->req->resource_metrics[i]->resource;
    CHECK(attr(r->attributes, r->n_attributes, "n") != NULL);
    CHECK(attr(r->attributes, r->n_attributes, "host.name") == NULL);
  }
  CHECK_EQ(out->points, 50);
  proc_close(&p);
}

/* ---- errors at create ---- */

static void test_bad_patterns_fail_at_create(void) {
  proc p;
  CHECK(proc_open_cfg(&p, "attributes:\n  - {key: a, value: 1, action: insert}\n  - {pattern: '(unclosed', action: delete}\n",
                      false) < 0);
  CHECK_CONTAINS(p.err.msg, "resource/test");
  CHECK_CONTAINS(p.err.msg, "attributes[1]");
  CHECK_CONTAINS(p.err.msg, "(unclosed");
  CHECK_EQ(p.err.code, WIRE_E_INVALID);
  proc_close(&p);

  CHECK(proc_open_cfg(&p, "attributes:\n  - {key: a, pattern: '^(?P<n>x)(y)$', action: extract}\n", true) < 0);
  CHECK_CONTAINS(p.err.msg, "unnamed group");
  proc_close(&p);

  CHECK(proc_open_cfg(&p, "attributes:\n  - {key: a, pattern: '^x$', action: extract}\n", false) < 0);
  CHECK_CONTAINS(p.err.msg, "no named groups");
  proc_close(&p);
}

/* ---- regexps and formatting ---- */

static void test_regex_dialect(void) {
  wire_err e;
  proc_regex *re = proc_regex_compile("^\\d+?ms$", "t", &e);
  CHECK(re != NULL);
  CHECK(proc_regex_match(re, "250ms", 5));
  CHECK(!proc_regex_match(re, "250ms\n", 6)); /* $ only at the very end, as in RE2 */
  proc_regex_free(re);
  re = proc_regex_compile("(?i)^HTTP\\.", "t", &e);
  CHECK(re && proc_regex_match(re, "http.server.duration", 20));
  proc_regex_free(re);
  re = proc_regex_compile("server", "t", &e); /* unanchored, as Go's MatchString */
  CHECK(re && proc_regex_match(re, "http.server.duration", 20));
  CHECK(re && !proc_regex_match(re, "\xff\xfe", 2)); /* invalid UTF-8 is not an error */
  proc_regex_free(re);
  re = proc_regex_compile("^(a+)+$", "t", &e); /* catastrophic backtracking: bounded, counts as no match */
  char evil[64];
  memset(evil, 'a', 40);
  evil[40] = 'b';
  CHECK(re && !proc_regex_match(re, evil, 41));
  proc_regex_free(re);
}

static void test_format_double(void) {
  char b[400];
  proc_format_double(0.1, true, b);
  CHECK_STR(b, "0.1");
  proc_format_double(123456789.0, true, b);
  CHECK_STR(b, "123456789");
  proc_format_double(1e21, true, b);
  CHECK_STR(b, "1e+21");
  proc_format_double(1e20, true, b);
  CHECK_STR(b, "100000000000000000000");
  proc_format_double(1e-7, true, b);
  CHECK_STR(b, "1e-7");
  proc_format_double(1.5e-10, true, b);
  CHECK_STR(b, "1.5e-10");
  proc_format_double(0.000001, true, b);
  CHECK_STR(b, "0.000001");
  proc_format_double(-2.5, true, b);
  CHECK_STR(b, "-2.5");
  proc_format_double(-0.0, true, b);
  CHECK_STR(b, "-0");
  proc_format_double(1.5e300, true, b);
  CHECK_STR(b, "1.5e+300");
  proc_format_double(1e21, false, b);
  CHECK_STR(b, "1000000000000000000000");
  proc_format_double(1e-7, false, b);
  CHECK_STR(b, "0.0000001");
  proc_format_double(0.30000000000000004, false, b);
  CHECK_STR(b, "0.30000000000000004");
  proc_format_double(5e-324, false, b);
  CHECK(strlen(b) == 326 && b[325] == '5' && !strncmp(b, "0.000", 5));
}

int main(void) {
  RUN(test_seed_instance_id_from_pod_name);
  RUN(test_insert_values_of_each_type);
  RUN(test_update_and_upsert);
  RUN(test_delete_by_key_and_pattern);
  RUN(test_hash);
  RUN(test_extract);
  RUN(test_convert);
  RUN(test_from_context);
  RUN(test_resource_created_when_missing);
  RUN(test_copy_on_write);
  RUN(test_many_resources);
  RUN(test_bad_patterns_fail_at_create);
  RUN(test_regex_dialect);
  RUN(test_format_double);
  return test_finish();
}
