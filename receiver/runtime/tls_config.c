/* tls_config.c — config `tls:` sections to wire_tls_config (see tls_config.h). */
#include "receiver/runtime/tls_config.h"

#include <string.h>

static int version_of(int v, const char *what, const char **out, wire_err *err) {
  switch (v) {
  case TLS_VERSION_DEFAULT: *out = NULL; return 0;
  case TLS_VERSION_1_2: *out = "1.2"; return 0;
  case TLS_VERSION_1_3: *out = "1.3"; return 0;
  default:
    return wire_err_set(err, WIRE_E_UNSUPPORTED, "%s: tls min_version below 1.2 is not supported", what);
  }
}

int rt_tls_server_config(const tls_server_config *in, const char *what, wire_tls_config *out, wire_err *err) {
  memset(out, 0, sizeof *out);
  if (in->cert_pem || in->key_pem)
    return wire_err_set(err, WIRE_E_UNSUPPORTED, "%s: tls cert_pem/key_pem are not supported, use cert_file/key_file",
                        what);
  if (!in->cert_file || !in->key_file)
    return wire_err_set(err, WIRE_E_INVALID, "%s: tls needs cert_file and key_file", what);
  out->cert_file = in->cert_file;
  out->key_file = in->key_file;
  out->ca_file = in->ca_file;
  out->ca_pem = in->ca_pem;
  out->client_ca_file = in->client_ca_file;
  return version_of(in->min_version, what, &out->min_version, err);
}

int rt_tls_client_config(const tls_client_config *in, const char *what, wire_tls_config *out, wire_err *err) {
  memset(out, 0, sizeof *out);
  if (in->cert_pem || in->key_pem)
    return wire_err_set(err, WIRE_E_UNSUPPORTED, "%s: tls cert_pem/key_pem are not supported, use cert_file/key_file",
                        what);
  out->ca_file = in->ca_file;
  out->ca_pem = in->ca_pem;
  out->cert_file = in->cert_file;
  out->key_file = in->key_file;
  out->server_name = in->server_name_override;
  out->insecure_skip_verify = in->insecure_skip_verify;
  return version_of(in->min_version, what, &out->min_version, err);
}
