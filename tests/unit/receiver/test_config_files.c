/* test_config_files.c — whole configurations from tests/unit/receiver/testdata: the embedded default, users'
 * Collector configs (from the seed notes, adapted to metrics), a file using every key, merging several files,
 * --set, env substitution, --print-config (redaction, round trip), and bad files with their exact error text. */
#include <stdlib.h>
#include <string.h>

#include "receiver/config/components/attr_actions.h"
#include "receiver/config/components/batch.h"
#include "receiver/config/components/debug_exporter.h"
#include "receiver/config/components/extensions.h"
#include "receiver/config/components/filter.h"
#include "receiver/config/components/otlp_exporters.h"
#include "receiver/config/components/otlp_receiver.h"
#include "receiver/config/components/prometheus_exporter.h"
#include "receiver/config/config.h"
#include "testlib.h"

static const char *testdata(const char *name) {
  static char paths[8][1024];
  static int next;
  const char *src = getenv("OTELC_SOURCE_DIR");
  char *p = paths[next++ % 8];
  snprintf(p, 1024, "%s/tests/unit/receiver/testdata/%s", src ? src : ".", name);
  return p;
}

static const char *fake_env(const char *name, void *ud) {
  (void)ud;
  static const char *const vars[][2] = {
      {"OTELC_T_HOST", "0.0.0.0"}, {"OTELC_T_PORT", "14317"},           {"OTELC_T_SIZE", "32"},
      {"OTELC_T_HEADERS", "{x-api-key: from-env-secret, x-tenant: t1}"}, {"HONEYCOMB_API_KEY", "hc-secret-key"},
      {"POD_NAME", "otelcol-0"},
  };
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (!strcmp(name, vars[i][0])) return vars[i][1];
  return NULL;
}

static otelc_config *load(const char *const *files, size_t nfiles, const char *const *sets, size_t nsets,
                          cfg_diags *d) {
  const char *paths[8];
  for (size_t i = 0; i < nfiles && i < 8; i++) paths[i] = testdata(files[i]);
  config_options o = {.sources = paths, .nsources = nfiles, .sets = sets, .nsets = nsets, .getenv_fn = fake_env};
  cfg_diags_init(d);
  return config_load(&o, d);
}

static otelc_config *load1(const char *file, cfg_diags *d) { return load(&file, 1, NULL, 0, d); }

static void *config_of(const otelc_config *c, component_kind kind, const char *id) {
  service_component *sc = service_find(config_graph(c), kind, id);
  return sc ? sc->config : NULL;
}

static char *print_to_string(const otelc_config *c) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  config_print(c, f);
  fclose(f);
  return text;
}

static void dump_diags(const cfg_diags *d) {
  for (size_t i = 0; i < d->n; i++) fprintf(stderr, "  diag: %s\n", d->v[i].msg);
}

static void test_default_config(void) {
  cfg_diags d;
  config_options o = {0};
  cfg_diags_init(&d);
  otelc_config *c = config_load(&o, &d);
  CHECK(c != NULL);
  CHECK_EQ(d.n, 0);
  if (!c) return dump_diags(&d);
  const service_graph *g = config_graph(c);
  CHECK_EQ(g->npipelines, 1);
  CHECK_STR(g->pipelines[0].id, "metrics");
  CHECK_EQ(g->pipelines[0].nreceivers, 1);
  CHECK_EQ(g->pipelines[0].nprocessors, 1);
  CHECK_EQ(g->pipelines[0].nexporters, 2);
  otlp_receiver_config *otlp = config_of(c, COMPONENT_RECEIVER, "otlp");
  CHECK(otlp && otlp->grpc && otlp->http);
  if (otlp && otlp->grpc && otlp->http) {
    CHECK_STR(otlp->grpc->endpoint, "127.0.0.1:4317");
    CHECK_STR(otlp->http->endpoint, "127.0.0.1:4318");
    CHECK_EQ(otlp->grpc->max_recv_msg_size, 4 << 20);
    CHECK_STR(otlp->http->metrics_url_path, "/v1/metrics");
    CHECK(otlp->grpc->tls == NULL);
  }
  batch_config *b = config_of(c, COMPONENT_PROCESSOR, "batch");
  CHECK(b && b->send_batch_size == 8192 && b->send_batch_max_size == 0 && b->timeout == 200000000LL);
  prometheus_exporter_config *p = config_of(c, COMPONENT_EXPORTER, "prometheus");
  CHECK(p && !strcmp(p->endpoint, "127.0.0.1:8889") && p->metric_expiration == 300000000000LL);
  debug_exporter_config *dbg = config_of(c, COMPONENT_EXPORTER, "debug");
  CHECK(dbg && dbg->verbosity == DEBUG_VERBOSITY_BASIC);
  CHECK_STR(g->service.telemetry.metrics.listen, "127.0.0.1:8888");
  config_free(c);
  cfg_diags_free(&d);
}

static void test_full_config(void) {
  cfg_diags d;
  otelc_config *c = load1("good_full.yaml", &d);
  CHECK(c != NULL);
  CHECK_EQ(d.errors, 0);
  if (!c) return dump_diags(&d);
  CHECK_EQ(d.warnings, 1); /* k8sattributes: runtime pending */
  const service_graph *g = config_graph(c);
  CHECK_EQ(g->npipelines, 2);
  CHECK_EQ(g->ncomponents, 18);
  CHECK_STR(g->pipelines[1].id, "metrics/archive");
  CHECK_EQ(g->pipelines[0].nprocessors, 6);
  CHECK_STR(g->pipelines[0].processors[2]->id, "resource");
  /* Fan-out: one receiver feeds both pipelines; each exporter is fed by one. */
  service_component *otlp_sc = service_find(g, COMPONENT_RECEIVER, "otlp");
  CHECK(otlp_sc && otlp_sc->npipelines == 2);
  CHECK_EQ(g->nextensions, 4);
  CHECK_STR(g->extensions[3]->id, "file_storage/queue");

  otlp_receiver_config *r = config_of(c, COMPONENT_RECEIVER, "otlp");
  if (r && r->grpc && r->http && r->grpc->tls && r->grpc->auth) {
    CHECK_STR(r->grpc->endpoint, "0.0.0.0:14317");
    CHECK_STR(r->grpc->tls->client_ca_file, "/etc/otelc/clients-ca.pem");
    CHECK_EQ(r->grpc->tls->min_version, TLS_VERSION_1_3);
    CHECK_EQ(r->grpc->max_recv_msg_size, 16 << 20);
    CHECK_EQ(r->grpc->keepalive.max_connection_age_grace, 13000000000LL);
    CHECK(r->grpc->keepalive.enforcement_permit_without_stream);
    CHECK_STR(r->grpc->auth->authenticator, "bearertokenauth/in");
    CHECK_STR(r->http->metrics_url_path, "/custom/metrics"); /* leading '/' added like the Collector */
    CHECK(r->http->cors && r->http->cors->max_age == 7200);
    CHECK_EQ(r->http->max_request_body_size, 10485760);
    CHECK_EQ(r->http->idle_timeout, 120000000000LL);
  } else {
    CHECK_MSG(0, "otlp receiver sections missing");
  }
  resource_processor_config *res = config_of(c, COMPONENT_PROCESSOR, "resource");
  CHECK(res && res->attributes.n == 10);
  if (res && res->attributes.n == 10) {
    attr_action_config *a = res->attributes.v;
    CHECK_EQ(a[0].action, ATTR_ACTION_INSERT);
    CHECK_STR(a[0].from_attribute, "k8s.pod.name");
    CHECK(a[2].value.kind == CFG_VALUE_INT && a[2].value.i == 3);
    CHECK(a[3].value.kind == CFG_VALUE_DOUBLE);
    CHECK(a[4].value.kind == CFG_VALUE_BOOL && a[4].value.b);
    CHECK_EQ(a[7].action, ATTR_ACTION_DELETE);
    CHECK_EQ(a[9].converted_type, CONVERT_INT);
  }
  filter_processor_config *fo = config_of(c, COMPONENT_PROCESSOR, "filter/ottl");
  CHECK(fo && fo->metrics.ndrop_rules == 3);
  if (fo && fo->metrics.ndrop_rules == 3) {
    CHECK(fo->metrics.drop_rules[1].negate);
    CHECK(fo->metrics.drop_rules[2].regexp);
  }
  filter_processor_config *fc = config_of(c, COMPONENT_PROCESSOR, "filter/classic");
  CHECK(fc && fc->error_mode == FILTER_ERROR_IGNORE && fc->metrics.include && fc->metrics.exclude);
  otlp_exporter_config *oe = config_of(c, COMPONENT_EXPORTER, "otlp/backend");
  if (oe) {
    CHECK_EQ(oe->headers.n, 2);
    CHECK_EQ(oe->compression, COMPRESSION_NONE);
    CHECK_STR(oe->tls.server_name_override, "backend.internal");
    CHECK_EQ(oe->retry_on_failure.max_interval, 90000000000LL);
    CHECK_DBL(oe->retry_on_failure.multiplier, 2);
    CHECK_EQ(oe->sending_queue.queue_size, 5000);
    CHECK_STR(oe->sending_queue.storage, "file_storage/queue");
  }
  otlphttp_exporter_config *he = config_of(c, COMPONENT_EXPORTER, "otlphttp");
  CHECK(he && he->encoding == OTLP_ENCODING_JSON && !he->retry_on_failure.enabled && !he->sending_queue.enabled);
  prometheus_exporter_config *pe = config_of(c, COMPONENT_EXPORTER, "prometheus");
  CHECK(pe && pe->resource_to_telemetry_conversion && !pe->add_metric_suffixes && pe->enable_open_metrics);
  bearertokenauth_config *bt = config_of(c, COMPONENT_EXTENSION, "bearertokenauth/in");
  CHECK(bt && bt->tokens.n == 2 && !strcmp(bt->scheme, "Bearer"));
  CHECK_STR(g->service.telemetry.metrics.listen, "127.0.0.1:18888");
  CHECK_EQ(g->service.telemetry.logs.level, LOG_LEVEL_DEBUG);
  config_free(c);
  cfg_diags_free(&d);
}

static void test_print_config_redacts_and_round_trips(void) {
  cfg_diags d;
  otelc_config *c = load1("good_full.yaml", &d);
  CHECK(c != NULL);
  if (!c) return dump_diags(&d);
  char *first = print_to_string(c);
  static const char *const secrets[] = {"very-secret-api-key", "also-secret", "the-outgoing-token", "token-one",
                                        "token-two", "tenant-1"};
  for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
    CHECK_MSG(!strstr(first, secrets[i]), "secret %s printed", secrets[i]);
  CHECK_CONTAINS(first, "      x-api-key: \"[REDACTED]\"\n");
  CHECK_CONTAINS(first, "    metrics/archive:\n      receivers: [otlp]\n");
  CHECK_CONTAINS(first, "      max_interval: 1m30s\n");
  config_free(c);
  cfg_diags_free(&d);
  /* What --print-config prints is a valid configuration that prints the same. */
  cfg_diags_init(&d);
  c = config_load_buffer("printed.yaml", first, strlen(first), fake_env, NULL, &d);
  CHECK(c != NULL);
  if (c) {
    char *second = print_to_string(c);
    CHECK_STR(second, first);
    free(second);
    config_free(c);
  } else {
    dump_diags(&d);
  }
  free(first);
  cfg_diags_free(&d);
}

static void test_seed_configs_load(void) {
  static const char *const files[] = {"good_seed_gateway.yaml", "good_seed_prometheus_logging.yaml",
                                      "good_seed_otlp_vendor.yaml"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    cfg_diags d;
    otelc_config *c = load1(files[i], &d);
    CHECK_MSG(c != NULL, "%s does not load", files[i]);
    if (!c) dump_diags(&d);
    config_free(c);
    cfg_diags_free(&d);
  }
  /* The gateway: its traces pipeline and trace-only components are ignored, with warnings. */
  cfg_diags d;
  otelc_config *c = load1("good_seed_gateway.yaml", &d);
  if (c) {
    const service_graph *g = config_graph(c);
    CHECK_EQ(g->npipelines, 1);
    CHECK(cfg_diags_contains(&d, CFG_WARNING, "service::pipelines::traces: otelc handles metrics only"));
    CHECK(cfg_diags_contains(&d, CFG_WARNING, "unknown processor type \"tail_sampling\", only used by ignored"));
    service_component *jaeger = service_find(g, COMPONENT_EXPORTER, "otlp/jaeger");
    CHECK(jaeger && jaeger->ignored && !jaeger->config);
    CHECK_STR(g->service.telemetry.metrics.listen, "0.0.0.0:8888");
    prometheus_exporter_config *p = config_of(c, COMPONENT_EXPORTER, "prometheus");
    CHECK(p && p->resource_to_telemetry_conversion);
  }
  config_free(c);
  cfg_diags_free(&d);
  /* The blog post: `logging` is the debug exporter, with a deprecation warning; processors: [] is fine. */
  c = load1("good_seed_prometheus_logging.yaml", &d);
  if (c) {
    const service_graph *g = config_graph(c);
    service_component *lg = service_find(g, COMPONENT_EXPORTER, "logging");
    CHECK(lg && lg->factory == registry_find(COMPONENT_EXPORTER, "debug"));
    debug_exporter_config *dc = lg ? lg->config : NULL;
    CHECK(dc && dc->verbosity == DEBUG_VERBOSITY_DETAILED);
    CHECK_EQ(g->pipelines[0].nprocessors, 0);
    CHECK(cfg_diags_contains(&d, CFG_WARNING, "exporters::logging: the \"logging\" exporter is deprecated: use \"debug\""));
    CHECK(cfg_diags_contains(&d, CFG_WARNING, "receivers::prometheus: accepted, but scraping is not implemented"));
  }
  config_free(c);
  cfg_diags_free(&d);
  /* Header value from the environment, never printed. */
  c = load1("good_seed_otlp_vendor.yaml", &d);
  if (c) {
    otlp_exporter_config *oe = config_of(c, COMPONENT_EXPORTER, "otlp");
    CHECK(oe && oe->headers.n == 1 && !strcmp(oe->headers.v[0].value, "hc-secret-key"));
    char *text = print_to_string(c);
    CHECK(!strstr(text, "hc-secret-key"));
    free(text);
  }
  config_free(c);
  cfg_diags_free(&d);
}

static void test_merge_and_set(void) {
  static const char *const files[] = {"merge_base.yaml", "merge_override.yaml"};
  static const char *const sets[] = {"processors::batch::send_batch_size=7", "exporters::debug::verbosity=detailed",
                                     "service::pipelines::metrics::exporters=[debug, otlp/backend]"};
  cfg_diags d;
  otelc_config *c = load(files, 2, sets, 3, &d);
  CHECK(c != NULL);
  if (!c) return dump_diags(&d);
  batch_config *b = config_of(c, COMPONENT_PROCESSOR, "batch");
  CHECK(b && b->timeout == 5000000000LL); /* from the second file */
  CHECK(b && b->send_batch_size == 7);    /* from --set */
  otlp_exporter_config *oe = config_of(c, COMPONENT_EXPORTER, "otlp/backend");
  CHECK(oe && oe->headers.n == 2); /* maps merge: x-a kept, x-b replaced */
  if (oe && oe->headers.n == 2) {
    CHECK_STR(oe->headers.v[0].value, "1");
    CHECK_STR(oe->headers.v[1].value, "3");
  }
  debug_exporter_config *dbg = config_of(c, COMPONENT_EXPORTER, "debug");
  CHECK(dbg && dbg->verbosity == DEBUG_VERBOSITY_DETAILED);
  CHECK_EQ(config_graph(c)->pipelines[0].nexporters, 2);
  config_free(c);
  cfg_diags_free(&d);

  /* Without the --set, the second file's exporter list replaces the first's. */
  c = load(files, 2, NULL, 0, &d);
  CHECK(c && config_graph(c)->pipelines[0].nexporters == 1);
  CHECK(cfg_diags_contains(&d, CFG_WARNING, "exporters::debug: exporter is not used by any pipeline"));
  config_free(c);
  cfg_diags_free(&d);

  /* Inline yaml: sources with "::" keys. */
  const char *srcs[] = {testdata("merge_base.yaml"), "yaml:processors::batch::timeout: 3s"};
  config_options o = {.sources = srcs, .nsources = 2};
  cfg_diags_init(&d);
  c = config_load(&o, &d);
  b = c ? config_of(c, COMPONENT_PROCESSOR, "batch") : NULL;
  CHECK(b && b->timeout == 3000000000LL && b->send_batch_size == 100);
  config_free(c);
  cfg_diags_free(&d);

  static const char *const bad_sets[] = {"novalue"};
  c = load(files, 1, bad_sets, 1, &d);
  CHECK(c == NULL);
  CHECK_STR(cfg_diags_first_error(&d), "--set novalue: expected key::path=value");
  cfg_diags_free(&d);
}

static void test_env_config(void) {
  cfg_diags d;
  otelc_config *c = load1("good_env.yaml", &d);
  CHECK(c != NULL);
  if (!c) return dump_diags(&d);
  otlp_receiver_config *r = config_of(c, COMPONENT_RECEIVER, "otlp");
  CHECK(r && r->grpc && !strcmp(r->grpc->endpoint, "0.0.0.0:14317"));
  CHECK(r && r->grpc && r->grpc->max_recv_msg_size == 32 << 20);
  batch_config *b = config_of(c, COMPONENT_PROCESSOR, "batch");
  CHECK(b && b->timeout == 2000000000LL && b->send_batch_size == 32);
  otlp_exporter_config *oe = config_of(c, COMPONENT_EXPORTER, "otlp");
  CHECK(oe && oe->headers.n == 2); /* a whole reference may be a map */
  CHECK(oe && !strcmp(oe->authority, "${not.a.reference}"));
  debug_exporter_config *dbg = config_of(c, COMPONENT_EXPORTER, "debug");
  CHECK(dbg && dbg->verbosity == DEBUG_VERBOSITY_BASIC); /* unset variable: empty, default kept */
  CHECK_EQ(d.warnings, 1);
  char expected[1200];
  snprintf(expected, sizeof expected,
           "%s:17:16: exporters::debug::verbosity: environment variable \"OTELC_T_MISSING\" is not set; using an "
           "empty value",
           testdata("good_env.yaml"));
  CHECK(d.n == 1 && !strcmp(d.v[0].msg, expected));
  config_free(c);
  cfg_diags_free(&d);
}

/* Bad files: the first error, exactly (file:line:col: path: message). */
static void test_bad_files(void) {
  static const struct {
    const char *file;
    const char *error; /* after "<path>:" */
    size_t errors;
  } cases[] = {
      {"bad_unknown_component.yaml", "6:3: exporters::otlpp/backend: unknown exporter type \"otlpp\" (did you mean \"otlp\"?)", 1},
      {"bad_unknown_key.yaml", "7:5: processors::batch: unknown key \"timout\" (did you mean \"timeout\"?)", 1},
      {"bad_wrong_type.yaml", "5:32: receivers::otlp::protocols::grpc::max_recv_msg_size_mib: \"lots\" is not an integer", 1},
      {"bad_duration.yaml", "9:21: exporters::otlp/backend::retry_on_failure::max_interval: \"abc\" is not a duration", 1},
      {"bad_reference.yaml",
       "12:19: service::pipelines::metrics::exporters[0]: exporter \"otlp/backedn\" is not defined in exporters (did "
       "you mean \"otlp/backend\"?)", 1},
      {"bad_empty_pipeline.yaml", "10:7: service::pipelines::metrics: must have at least one exporter", 1},
      {"bad_yaml_syntax.yaml", "5:19: invalid YAML: found unexpected end of stream while scanning a quoted scalar", 1},
      {"bad_auth_not_enabled.yaml",
       "6:26: receivers::otlp::protocols::http::auth::authenticator: extension \"bearertokenauth\" must be listed in "
       "service::extensions", 1},
      {"bad_ottl.yaml",
       "10:11: processors::filter::metrics::metric[1]: OTTL condition \"type == METRIC_DATA_TYPE_HISTOGRAM\" is not "
       "supported: otelc supports only metric name comparisons (name == \"x\", name != \"x\", IsMatch(name, "
       "\"regexp\"))", 1},
      {"bad_secret_type.yaml", "10:9: exporters::otlp::headers::authorization: expected a string, got a map", 3},
      {"bad_traces_only.yaml",
       "9:5: service::pipelines: no metrics pipeline: otelc needs at least one (metrics or metrics/<name>)", 1},
      {"bad_many.yaml",
       "26:5: service::pipelines::metrix: unknown signal \"metrix\" in pipeline id (metrics, traces or logs); did you "
       "mean \"metrics\"?", 12},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cfg_diags d;
    otelc_config *c = load1(cases[i].file, &d);
    CHECK_MSG(c == NULL, "%s loaded", cases[i].file);
    config_free(c);
    char expected[1200];
    snprintf(expected, sizeof expected, "%s:%s", testdata(cases[i].file), cases[i].error);
    CHECK_STR(cfg_diags_first_error(&d), expected);
    CHECK_MSG(d.errors == cases[i].errors, "%s: %zu errors, expected %zu", cases[i].file, d.errors, cases[i].errors);
    for (size_t k = 0; k < d.n; k++) /* secrets of bad_secret_type.yaml never show */
      CHECK_MSG(!strstr(d.v[k].msg, "hunter"), "secret in: %s", d.v[k].msg);
    if (d.errors != cases[i].errors) dump_diags(&d);
    cfg_diags_free(&d);
  }
  /* bad_many.yaml: every mistake is reported in one run. */
  cfg_diags d;
  otelc_config *c = load1("bad_many.yaml", &d);
  CHECK(c == NULL);
  static const char *const expected[] = {
      "receivers::otlp::protocols: unknown key \"grcp\" (did you mean \"grpc\"?)",
      "receivers::otlp: must specify at least one protocol (protocols::grpc or protocols::http)",
      "processors::memory_limiter::check_interval: must be greater than zero",
      "processors::memory_limiter::spike_limit_mib: must be smaller than limit_mib",
      "processors::batch::send_batch_max_size: must be 0 or at least send_batch_size (100)",
      "exporters::debug::verbosity: \"verbose\" is not one of basic, normal, detailed",
      "exporters::otlphttp::compression: compression \"zstd\" is not supported by otelc (use gzip or none)",
      "exporters::otlphttp::endpoint: \"backend:4318\" is not an http:// or https:// URL",
      "service::pipelines::metrics::receivers[1]: receiver \"otlp\" is listed more than once",
      "service::pipelines::metrics::exporters[2]: exporter \"prometheus\" is not defined in exporters",
      "service::extensions[0]: extension \"health_check\" is not defined in extensions",
  };
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
    CHECK_MSG(cfg_diags_contains(&d, CFG_ERROR, expected[i]), "missing: %s", expected[i]);
  cfg_diags_free(&d);
}

static void test_buffer_errors(void) {
  static const struct {
    const char *yaml, *error;
  } cases[] = {
      {"", "b.yaml:1:1: the configuration is empty"},
      {"[1, 2]", "b.yaml:1:1: the configuration must be a map, not a sequence"},
      {"recievers: {}\nservice: {}\n", "b.yaml:1:1: unknown top-level key \"recievers\" (did you mean \"receivers\"?)"},
      {"receivers: {otlp: {protocols: {grpc: }}}\nexporters: {debug: }\n", "b.yaml:1:1: missing \"service\" section with pipelines"},
      {"receivers: {otlp: {protocols: {grpc: }}}\nexporters: {debug: }\nconnectors: {forward: }\n"
       "service: {pipelines: {metrics: {receivers: [otlp], exporters: [debug]}}}\n",
       "b.yaml:3:13: connectors: connectors are not supported by otelc"},
      {"receivers: {otlp: {protocols: {grpc: }}}\nexporters: {debug: }\n"
       "service: {pipelines: {metrics: {receivers: [otlp], exporters: [debug]}}, extensions: [health_check]}\n"
       "extensions: {health_check: {endpoint: \"\"}}\n",
       "b.yaml:4:39: extensions::health_check::endpoint: must not be empty"},
      {"receivers: {otlp: {protocols: {grpc: {auth: {authenticator: health_check}}}}}\nexporters: {debug: }\n"
       "extensions: {health_check: }\n"
       "service: {extensions: [health_check], pipelines: {metrics: {receivers: [otlp], exporters: [debug]}}}\n",
       "b.yaml:1:61: receivers::otlp::protocols::grpc::auth::authenticator: extension \"health_check\" cannot be used "
       "as an authenticator"},
      {"receivers: {otlp: {protocols: {grpc: }}}\nexporters: {debug: , otlp: {endpoint: x:1, sending_queue: "
       "{storage: file_storage}}}\n"
       "service: {pipelines: {metrics: {receivers: [otlp], exporters: [debug, otlp]}}}\n",
       "b.yaml:2:69: exporters::otlp::sending_queue::storage: extension \"file_storage\" is not defined in extensions"},
      {"receivers: {otlp: {protocols: {grpc: }}}\nexporters: {debug: }\n"
       "service: {pipelines: {metrics: {receivers: [debug], exporters: [debug]}}}\n",
       "b.yaml:3:45: service::pipelines::metrics::receivers[0]: receiver \"debug\" is not defined in receivers "
       "(\"debug\" is defined in exporters)"},
      {"receivers: {otlp: {protocols: {grpc: }}}\nexporters: {debug: }\n"
       "processors: {filter: {metrics: {metric: ['IsMatch(name, \"(\")']}}}\n"
       "service: {pipelines: {metrics: {receivers: [otlp], processors: [filter], exporters: [debug]}}}\n",
       "b.yaml:3:42: processors::filter::metrics::metric[0]: \"(\" is not a valid regular expression: missing closing "
       "parenthesis at offset 1"},
      {"receivers: {batch: }\nexporters: {debug: }\n"
       "service: {pipelines: {metrics: {receivers: [batch], exporters: [debug]}}}\n",
       "b.yaml:1:13: receivers::batch: unknown receiver type \"batch\" (\"batch\" is a processor: put it under "
       "processors)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cfg_diags d;
    cfg_diags_init(&d);
    otelc_config *c = config_load_buffer("b.yaml", cases[i].yaml, strlen(cases[i].yaml), fake_env, NULL, &d);
    CHECK_MSG(c == NULL, "case %zu loaded", i);
    config_free(c);
    CHECK_STR(cfg_diags_first_error(&d), cases[i].error);
    cfg_diags_free(&d);
  }
}

int main(void) {
  RUN(test_default_config);
  RUN(test_full_config);
  RUN(test_print_config_redacts_and_round_trips);
  RUN(test_seed_configs_load);
  RUN(test_merge_and_set);
  RUN(test_env_config);
  RUN(test_bad_files);
  RUN(test_buffer_errors);
  return test_finish();
}
