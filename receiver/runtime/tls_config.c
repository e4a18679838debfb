/* tls_config.c — config `tls:` sections to wire_tls_config (see tls_config.h).
 *
 * Everything the Collector's configtls accepts maps onto the wire layer, except TLS below 1.2 (refused with a
 * clear message). reload_client_ca_file (the Collector watches the file) re-reads the client CA file together
 * with the certificate every reload_interval, or every RELOAD_CLIENT_CA_MS when reload_interval is not set.
 * Never copies PEM text into messages. */
#include "receiver/runtime/tls_config.h"

#include <string.h>

#define RELOAD_CLIENT_CA_MS 10000

static int version_of(int v, const char *what, const char *key, const char **out, wire_err *err) {
  switch (v) {
  case TLS_VERSION_DEFAULT: *out = NULL; return 0;
  case TLS_VERSION_1_2: *out = "1.2"; return 0;
  case TLS_VERSION_1_3: *out = "1.3"; return 0;
  default:
    return wire_err_set(err, WIRE_E_UNSUPPORTED, "%s: tls %s below 1.2 is not supported (use \"1.2\" or \"1.3\")",
                        what, key);
  }
}

static bool set(const char *s) { return s && *s; }

/* The settings both sides share: versions, cipher suites, reload interval. */
static int common(int min_v, int max_v, const cfg_strlist *ciphers, int64_t reload_ns, const char *what,
                  wire_tls_config *out, wire_err *err) {
  if (version_of(min_v, what, "min_version", &out->min_version, err) < 0 ||
      version_of(max_v, what, "max_version", &out->max_version, err) < 0)
    return -1;
  out->cipher_suites = (const char *const *)ciphers->v;
  out->ncipher_suites = ciphers->n;
  out->reload_interval_ms = reload_ns > 0 ? (uint64_t)(reload_ns + 999999) / 1000000 : 0;
  return 0;
}

int rt_tls_server_config(const tls_server_config *in, const char *what, wire_tls_config *out, wire_err *err) {
  memset(out, 0, sizeof *out);
  if (!(set(in->cert_file) || set(in->cert_pem)) || !(set(in->key_file) || set(in->key_pem)))
    return wire_err_set(err, WIRE_E_INVALID, "%s: tls needs a certificate (cert_file or cert_pem) and a key "
                                             "(key_file or key_pem)", what);
  out->cert_file = set(in->cert_pem) ? NULL : in->cert_file;
  out->cert_pem = set(in->cert_pem) ? in->cert_pem : NULL;
  out->key_file = set(in->key_pem) ? NULL : in->key_file;
  out->key_pem = set(in->key_pem) ? in->key_pem : NULL;
  out->ca_file = in->ca_file;
  out->ca_pem = in->ca_pem;
  out->client_ca_file = in->client_ca_file;
  if (common(in->min_version, in->max_version, &in->cipher_suites, in->reload_interval, what, out, err) < 0)
    return -1;
  if (in->reload_client_ca_file && set(in->client_ca_file) && !out->reload_interval_ms)
    out->reload_interval_ms = RELOAD_CLIENT_CA_MS;
  return 0;
}

int rt_tls_client_config(const tls_client_config *in, const char *what, wire_tls_config *out, wire_err *err) {
  memset(out, 0, sizeof *out);
  out->ca_file = in->ca_file;
  out->ca_pem = in->ca_pem;
  out->cert_file = set(in->cert_pem) ? NULL : in->cert_file;
  out->cert_pem = set(in->cert_pem) ? in->cert_pem : NULL;
  out->key_file = set(in->key_pem) ? NULL : in->key_file;
  out->key_pem = set(in->key_pem) ? in->key_pem : NULL;
  out->server_name = in->server_name_override;
  out->insecure_skip_verify = in->insecure_skip_verify;
  out->include_system_ca = in->include_system_ca_certs_pool;
  return common(in->min_version, in->max_version, &in->cipher_suites, in->reload_interval, what, out, err);
}
