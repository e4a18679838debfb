/* test_tls_settings.c — the Collector's TLS settings in otelc (config `tls:` → tls_config.c → wire/tls.c):
 * inline PEM (cert_pem, key_pem, ca_pem) on the otlp receiver and on the otlp/otlphttp exporters, with mutual
 * TLS; inline PEM on the prometheus exporter; min_version/max_version; cipher_suites; reload_interval (a certificate rotated on disk is served without a
 * restart); and errors that never quote PEM text. Network: 127.0.0.1 only. */
#define _GNU_SOURCE /* memmem */
#include <sys/socket.h>
#include <netinet/in.h>

#include "rt_harness.h"
#include "receiver/runtime/tls_config.h"
#include "testcerts.h"
#include "wire/tls.h"

static test_certs certs;
static char *ca_pem, *server_cert_pem, *server_key_pem, *client_cert_pem, *client_key_pem;
static wire_buf sample_pb;

static char *read_text(const char *path) {
  size_t n;
  char *s = test_read_file(path, &n);
  CHECK_MSG(s != NULL, "cannot read %s", path);
  return s;
}

/* PEM text as a YAML literal block indented by `indent` spaces (appended to out). */
static void yaml_block(char *out, size_t cap, const char *pem, int indent) {
  size_t len = strlen(out);
  len += (size_t)snprintf(out + len, cap - len, "|\n");
  const char *p = pem;
  while (*p && len < cap) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (n) len += (size_t)snprintf(out + len, cap - len, "%*s%.*s\n", indent, "", (int)n, p);
    p += n + (nl ? 1 : 0);
  }
}

/* Appends text to out (capacity cap), truncating. */
static void yaml_add(char *out, size_t cap, const char *text) { strncat(out, text, cap - strlen(out) - 1); }

/* Appends `<key>: |` at `indent` spaces followed by the PEM text as its block (indent + 2). */
static void yaml_pem(char *out, size_t cap, int indent, const char *key, const char *pem) {
  size_t len = strlen(out);
  snprintf(out + len, cap - len, "%*s%s: ", indent, "", key);
  yaml_block(out, cap, pem, indent + 2);
}

/* Appends the server's certificate and key as inline PEM (cert_pem, key_pem) at `indent` spaces. */
static void yaml_server_pem(char *out, size_t cap, int indent) {
  yaml_pem(out, cap, indent, "cert_pem", server_cert_pem);
  yaml_pem(out, cap, indent, "key_pem", server_key_pem);
}

static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
  socklen_t sl = sizeof sin;
  bind(fd, (struct sockaddr *)&sin, sizeof sin);
  getsockname(fd, (struct sockaddr *)&sin, &sl);
  close(fd);
  return ntohs(sin.sin_port);
}

/* One POST of sample_pb to https://127.0.0.1:port/v1/metrics (rt_harness.h's https_post). */
static int https_post_sample(uint16_t port, const wire_tls_config *tls, wire_err *err) {
  return https_post(port, tls, sample_pb.data, sample_pb.len, err);
}

/* ---- config → wire mapping ------------------------------------------------------------------------------ */

static void mapping(void) {
  char *suites[] = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"};
  tls_server_config s = {.cert_pem = "CERT", .key_pem = "KEY", .client_ca_file = "/ca.pem",
                         .min_version = TLS_VERSION_1_2, .max_version = TLS_VERSION_1_3,
                         .cipher_suites = {.v = suites, .n = 2}, .reload_interval = 1500000000LL};
  wire_tls_config out;
  wire_err err = {0};
  CHECK(rt_tls_server_config(&s, "otlp", &out, &err) == 0);
  CHECK_STR(out.cert_pem, "CERT");
  CHECK_STR(out.key_pem, "KEY");
  CHECK(out.cert_file == NULL && out.key_file == NULL);
  CHECK_STR(out.min_version, "1.2");
  CHECK_STR(out.max_version, "1.3");
  CHECK_EQ(out.ncipher_suites, 2);
  CHECK_STR(out.cipher_suites[1], "TLS_AES_256_GCM_SHA384");
  CHECK_EQ(out.reload_interval_ms, 1500);
  /* reload_client_ca_file without reload_interval: the files are re-read periodically anyway */
  s.reload_interval = 0;
  s.reload_client_ca_file = true;
  CHECK(rt_tls_server_config(&s, "otlp", &out, &err) == 0);
  CHECK(out.reload_interval_ms > 0);
  /* below 1.2: refused, naming the key */
  s.max_version = TLS_VERSION_1_1;
  CHECK(rt_tls_server_config(&s, "otlp", &out, &err) < 0);
  CHECK_EQ(err.code, WIRE_E_UNSUPPORTED);
  CHECK_CONTAINS(err.msg, "max_version");
  /* no certificate at all */
  tls_server_config none = {0};
  CHECK(rt_tls_server_config(&none, "otlp", &out, &err) < 0);
  CHECK_CONTAINS(err.msg, "cert_pem");

  tls_client_config c = {.ca_pem = "CA", .cert_file = "/c.pem", .key_pem = "KEY", .server_name_override = "x",
                         .include_system_ca_certs_pool = true, .min_version = TLS_VERSION_1_3};
  CHECK(rt_tls_client_config(&c, "otlp/x", &out, &err) == 0);
  CHECK_STR(out.ca_pem, "CA");
  CHECK_STR(out.cert_file, "/c.pem");
  CHECK_STR(out.key_pem, "KEY");
  CHECK_STR(out.server_name, "x");
  CHECK(out.include_system_ca);
  CHECK_STR(out.min_version, "1.3");
  CHECK(out.max_version == NULL);
}

/* ---- wire level: inline PEM, errors, versions ------------------------------------------------------------ */

static bool no_pem_in(const char *msg) { return !strstr(msg, "BEGIN") && !strstr(msg, "SECRET-MARKER"); }

static void wire_errors_never_quote_pem(void) {
  wire_err err = {0};
  const char *bogus = "-----BEGIN CERTIFICATE-----\nSECRET-MARKER\n-----END CERTIFICATE-----\n";
  const char *bogus_key = "-----BEGIN PRIVATE KEY-----\nSECRET-MARKER\n-----END PRIVATE KEY-----\n";
  wire_tls_config bad_cert = {.cert_pem = bogus, .key_pem = server_key_pem};
  CHECK(wire_tls_server_new(&bad_cert, NULL, &err) == NULL);
  CHECK_CONTAINS(err.msg, "cert_pem");
  CHECK_MSG(no_pem_in(err.msg), "message quotes PEM: %s", err.msg);
  wire_tls_config bad_key = {.cert_pem = server_cert_pem, .key_pem = bogus_key};
  CHECK(wire_tls_server_new(&bad_key, NULL, &err) == NULL);
  CHECK_CONTAINS(err.msg, "key_pem");
  CHECK_MSG(no_pem_in(err.msg), "message quotes PEM: %s", err.msg);
  wire_tls_config mismatch = {.cert_pem = server_cert_pem, .key_pem = client_key_pem};
  CHECK(wire_tls_server_new(&mismatch, NULL, &err) == NULL);
  CHECK_CONTAINS(err.msg, "mismatch");
  CHECK_MSG(no_pem_in(err.msg), "message quotes PEM: %s", err.msg);
  wire_tls_config no_key = {.cert_pem = server_cert_pem};
  CHECK(wire_tls_server_new(&no_key, NULL, &err) == NULL);
  wire_tls_config client_bad_key = {.ca_pem = ca_pem, .cert_pem = client_cert_pem, .key_pem = bogus_key};
  CHECK(wire_tls_client_new(&client_bad_key, &err) == NULL);
  CHECK_MSG(no_pem_in(err.msg), "message quotes PEM: %s", err.msg);
  wire_tls_config bad_max = {.cert_pem = server_cert_pem, .key_pem = server_key_pem, .max_version = "1.1"};
  CHECK(wire_tls_server_new(&bad_max, NULL, &err) == NULL);
  CHECK_CONTAINS(err.msg, "max_version");
  wire_tls_config inverted = {.ca_pem = ca_pem, .min_version = "1.3", .max_version = "1.2"};
  CHECK(wire_tls_client_new(&inverted, &err) == NULL);
  const char *unknown_suite[] = {"TLS_NOT_A_SUITE"};
  wire_tls_config bad_suite = {.ca_pem = ca_pem, .cipher_suites = unknown_suite, .ncipher_suites = 1};
  CHECK(wire_tls_client_new(&bad_suite, &err) == NULL);
  CHECK_CONTAINS(err.msg, "TLS_NOT_A_SUITE");
  /* An encrypted key fails to load (no passphrase prompt, no hang). */
  char enc[700];
  snprintf(enc, sizeof enc, "%s/encrypted.key", certs.dir);
  if (test_sh("openssl pkey -in %s -aes128 -passout pass:secret -out %s 2>/dev/null", certs.server_key, enc) == 0) {
    wire_tls_config encrypted = {.cert_file = certs.server_cert, .key_file = enc};
    CHECK(wire_tls_server_new(&encrypted, NULL, &err) == NULL);
    char *enc_pem = read_text(enc);
    wire_tls_config encrypted_pem = {.cert_pem = server_cert_pem, .key_pem = enc_pem};
    CHECK(wire_tls_server_new(&encrypted_pem, NULL, &err) == NULL);
    CHECK_MSG(no_pem_in(err.msg), "message quotes PEM: %s", err.msg);
    free(enc_pem);
  }
  /* The config is copied: a server built from temporary strings works after they are gone. */
  char *tmp_cert = strdup(server_cert_pem), *tmp_key = strdup(server_key_pem);
  wire_tls_config copied = {.cert_pem = tmp_cert, .key_pem = tmp_key, .reload_interval_ms = 1};
  wire_tls_server *t = wire_tls_server_new(&copied, NULL, &err);
  CHECK_MSG(t != NULL, "%s", err.msg);
  memset(tmp_cert, 'x', strlen(tmp_cert));
  free(tmp_cert);
  free(tmp_key);
  wire_tls_server_free(t);
}

/* ---- the otlp receiver with inline PEM, clients with inline PEM (mTLS) ----------------------------------- */

static void receiver_inline_pem(void) {
  capture_reset();
  static char yaml[32768];
  snprintf(yaml, sizeof yaml,
           RT_YAML_OTLP_RECEIVER
           "      grpc:\n"
           "        endpoint: 127.0.0.1:0\n"
           "        tls:\n"
           "          client_ca_file: %s\n"
           "          min_version: \"1.2\"\n"
           "          max_version: \"1.3\"\n",
           certs.ca);
  yaml_server_pem(yaml, sizeof yaml, 10);
  yaml_add(yaml, sizeof yaml,
           "      http:\n"
           "        endpoint: 127.0.0.1:0\n"
           "        tls:\n");
  yaml_server_pem(yaml, sizeof yaml, 10);
  yaml_add(yaml, sizeof yaml, RT_YAML_OTLP_TO_DEBUG);
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  wire_err err = {0};
  /* HTTPS, trusting the CA given inline */
  wire_tls_config tls = {.ca_pem = ca_pem};
  CHECK_EQ(https_post_sample(hport, &tls, &err), 200);
  /* gRPC with a client certificate given inline: accepted */
  wire_tls_config mtls = {.ca_pem = ca_pem, .cert_pem = client_cert_pem, .key_pem = client_key_pem};
  int code;
  CHECK_EQ(grpc_tls_export(gport, &mtls, sample_pb.data, sample_pb.len, &code), 0);
  CHECK_EQ(code, WIRE_GRPC_OK);
  /* without one: refused */
  CHECK(grpc_tls_export(gport, &tls, sample_pb.data, sample_pb.len, &code) < 0);
  /* a client that insists on TLS 1.3 against a server capped at 1.2 would fail; here the server allows 1.3 */
  wire_tls_config tls13 = {.ca_pem = ca_pem, .min_version = "1.3"};
  CHECK_EQ(https_post_sample(hport, &tls13, &err), 200);
  CHECK(wait_points("debug", 3 * SAMPLE_FULL_POINTS, 5000));
  harness_stop(&h);
  capture_reset();
}

/* The prometheus exporter serves https with a certificate and key given inline. */
static void prometheus_inline_pem(void) {
  capture_reset();
  uint16_t pport = free_port();
  static char yaml[32768];
  snprintf(yaml, sizeof yaml,
           RT_YAML_OTLP_RECEIVER
           "      http:\n"
           "        endpoint: 127.0.0.1:0\n"
           "exporters:\n"
           "  prometheus:\n"
           "    endpoint: 127.0.0.1:%u\n"
           "    tls:\n",
           pport);
  yaml_server_pem(yaml, sizeof yaml, 6);
  yaml_add(yaml, sizeof yaml,
           "service:\n"
           "  pipelines:\n"
           "    metrics: {receivers: [otlp], exporters: [prometheus]}\n");
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  wire_client *plain = http_client(hport, WIRE_CLIENT_H1);
  CHECK_EQ(post_metrics(plain, sample_pb.data, sample_pb.len, NULL, NULL), 200);
  wire_client_free(plain);
  /* scrape over TLS, trusting the CA given inline; the pushed data is there (bounded wait) */
  char ep[64];
  snprintf(ep, sizeof ep, "https://127.0.0.1:%u", pport);
  wire_tls_config tls = {.ca_pem = ca_pem};
  wire_client_config cc = {.endpoint = ep, .tls = &tls, .max_response_bytes = 8 << 20};
  wire_err err = {0};
  bool found = false;
  for (int i = 0; i < 100 && !found; i++) {
    wire_client *c = wire_client_new(&cc, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (!c) break;
    wire_http_response resp;
    wire_http_response_init(&resp, 0, 0);
    if (http_do(c, "GET", "/metrics", NULL, NULL, 0, NULL, NULL, &resp) == 0 && resp.status == 200)
      found = memmem(resp.body.data, resp.body.len, "target_info", 11) != NULL;
    wire_http_response_free(&resp);
    wire_client_free(c);
    if (!found) usleep(50 * 1000);
  }
  CHECK_MSG(found, "no target_info in the https scrape");
  harness_stop(&h);
  capture_reset();
}

/* max_version caps the server; a client requiring more cannot connect. */
static void receiver_max_version(void) {
  capture_reset();
  char yaml[4096];
  snprintf(yaml, sizeof yaml,
           RT_YAML_OTLP_RECEIVER
           "      http:\n"
           "        endpoint: 127.0.0.1:0\n"
           "        tls: {cert_file: %s, key_file: %s, max_version: \"1.2\",\n"
           "              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}\n"
           RT_YAML_OTLP_TO_DEBUG,
           certs.server_cert, certs.server_key);
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  wire_err err = {0};
  wire_tls_config tls12 = {.ca_pem = ca_pem};
  CHECK_EQ(https_post_sample(hport, &tls12, &err), 200);
  wire_tls_config tls13 = {.ca_pem = ca_pem, .min_version = "1.3"};
  CHECK_EQ(https_post_sample(hport, &tls13, &err), -1);
  /* a TLS 1.2 client offering only another suite finds no common cipher */
  const char *other[] = {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"};
  wire_tls_config other_suite = {.ca_pem = ca_pem, .max_version = "1.2", .cipher_suites = other,
                                 .ncipher_suites = 1};
  CHECK_EQ(https_post_sample(hport, &other_suite, &err), -1);
  harness_stop(&h);
  capture_reset();
}

/* ---- the exporters with inline PEM (mutual TLS towards a receiver that requires client certificates) ------ */

static void exporters_inline_pem(void) {
  capture_reset();
  uint16_t in_port = free_port(), in_http = free_port(), src_port = free_port();
  static char yaml[65536];
  snprintf(yaml, sizeof yaml,
           "receivers:\n"
           "  otlp/in:\n"
           "    protocols:\n"
           "      grpc:\n"
           "        endpoint: 127.0.0.1:%u\n"
           "        tls: {cert_file: %s, key_file: %s, client_ca_file: %s}\n"
           "      http:\n"
           "        endpoint: 127.0.0.1:%u\n"
           "        tls: {cert_file: %s, key_file: %s, client_ca_file: %s}\n"
           "  otlp/src:\n"
           "    protocols:\n"
           "      http:\n"
           "        endpoint: 127.0.0.1:%u\n"
           "exporters:\n"
           "  debug:\n",
           in_port, certs.server_cert, certs.server_key, certs.ca, in_http, certs.server_cert, certs.server_key,
           certs.ca, src_port);
  for (int k = 0; k < 2; k++) { /* the otlp (gRPC) and otlphttp exporters */
    size_t len = strlen(yaml);
    if (k == 0)
      snprintf(yaml + len, sizeof yaml - len, "  otlp:\n    endpoint: 127.0.0.1:%u\n    compression: none\n",
               in_port);
    else
      snprintf(yaml + len, sizeof yaml - len, "  otlphttp:\n    endpoint: https://127.0.0.1:%u\n    compression: none\n",
               in_http);
    yaml_add(yaml, sizeof yaml, "    tls:\n");
    yaml_pem(yaml, sizeof yaml, 6, "ca_pem", ca_pem);
    yaml_pem(yaml, sizeof yaml, 6, "cert_pem", client_cert_pem);
    yaml_pem(yaml, sizeof yaml, 6, "key_pem", client_key_pem);
  }
  yaml_add(yaml, sizeof yaml,
           "service:\n"
           "  pipelines:\n"
           "    metrics/in: {receivers: [otlp/in], exporters: [debug]}\n"
           "    metrics/src: {receivers: [otlp/src], exporters: [otlp, otlphttp]}\n");
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  wire_client *c = http_client(src_port, WIRE_CLIENT_H1);
  CHECK_EQ(post_metrics(c, sample_pb.data, sample_pb.len, NULL, NULL), 200);
  wire_client_free(c);
  /* both exporters deliver over mutual TLS with their inline certificates */
  CHECK_MSG(wait_points("debug", 2 * SAMPLE_FULL_POINTS, 10000), "debug got %llu points",
            (unsigned long long)capture_points("debug"));
  harness_stop(&h);
  capture_reset();
}

/* ---- reload_interval: a certificate rotated on disk is served by new connections --------------------------- */

static void reload_interval_rotates_certificate(void) {
  capture_reset();
  char cert[700], key[700];
  snprintf(cert, sizeof cert, "%s/rotating.pem", certs.dir);
  snprintf(key, sizeof key, "%s/rotating.key", certs.dir);
  CHECK(test_sh("cp %s %s && cp %s %s", certs.server_cert, cert, certs.server_key, key) == 0);
  char yaml[4096];
  snprintf(yaml, sizeof yaml,
           RT_YAML_OTLP_RECEIVER
           "      http:\n"
           "        endpoint: 127.0.0.1:0\n"
           "        tls: {cert_file: %s, key_file: %s, reload_interval: 100ms}\n"
           RT_YAML_OTLP_TO_DEBUG,
           cert, key);
  harness h;
  if (harness_start(&h, yaml) < 0) return;
  uint16_t gport, hport;
  harness_ports(&h, "otlp", &gport, &hport);
  wire_err err = {0};
  wire_tls_config tls = {.ca_pem = ca_pem};
  CHECK_EQ(https_post_sample(hport, &tls, &err), 200);
  /* Rotate to a certificate that is not valid for 127.0.0.1 (the client one): after the interval, new
   * connections get it and verification fails. */
  CHECK(test_sh("cp %s %s.new && cp %s %s.new && mv %s.new %s && mv %s.new %s", certs.client_cert, cert,
                certs.client_key, key, cert, cert, key, key) == 0);
  int status = 200;
  for (int i = 0; i < 50 && status == 200; i++) {
    usleep(150 * 1000);
    status = https_post_sample(hport, &tls, &err);
  }
  CHECK_EQ(status, -1);
  CHECK_CONTAINS(err.msg, "certificate verify failed");
  /* A broken file (half-written rotation) keeps the last good certificate. */
  CHECK(test_sh("cp %s %s.new && mv %s.new %s", certs.server_cert, cert, cert, cert) == 0); /* key mismatch now */
  usleep(250 * 1000);
  status = https_post_sample(hport, &tls, &err);
  CHECK_EQ(status, -1); /* still the client certificate: the mismatched pair was not taken */
  /* Rotate back: served again. */
  CHECK(test_sh("cp %s %s.new && mv %s.new %s", certs.server_key, key, key, key) == 0);
  status = -1;
  for (int i = 0; i < 50 && status != 200; i++) {
    usleep(150 * 1000);
    status = https_post_sample(hport, &tls, &err);
  }
  CHECK_EQ(status, 200);
  harness_stop(&h);
  capture_reset();
}

int main(void) {
  if (test_certs_make(&certs) < 0) {
    test_fail(__FILE__, __LINE__, "cannot make test certificates");
    return test_finish();
  }
  ca_pem = read_text(certs.ca);
  server_cert_pem = read_text(certs.server_cert);
  server_key_pem = read_text(certs.server_key);
  client_cert_pem = read_text(certs.client_cert);
  client_key_pem = read_text(certs.client_key);
  otlp_request *req = sample_otlp_full();
  encode_sample(req, &sample_pb);
  sample_otlp_free(req);
  RUN(mapping);
  RUN(wire_errors_never_quote_pem);
  RUN(receiver_inline_pem);
  RUN(receiver_max_version);
  RUN(prometheus_inline_pem);
  RUN(exporters_inline_pem);
  RUN(reload_interval_rotates_certificate);
  wire_buf_free(&sample_pb);
  free(ca_pem);
  free(server_cert_pem);
  free(server_key_pem);
  free(client_cert_pem);
  free(client_key_pem);
  return test_finish();
}
