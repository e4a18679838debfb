/* exporter_otlp_config.c — the OTLP exporter's configuration: options given in code, then the
 * OTEL_EXPORTER_OTLP_METRICS_* variable, then OTEL_EXPORTER_OTLP_*, then the specification's default, for every
 * setting (protocol, endpoint, headers, timeout, compression, certificate, client key and certificate,
 * insecure). Also the two string formats involved: the headers list and the OTLP/HTTP endpoint path rule.
 *
 * Warnings name variables, never their values: headers carry credentials, and so may endpoints. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdk/src/env.h"
#include "sdk/src/exporter_otlp.h"
#include "sdk/src/log.h"

/* ---- headers ---------------------------------------------------------------------------------------- */

static bool is_tchar(unsigned char c) {
  return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Trims s[0..n) and percent-decodes it into out (NUL-terminated). Returns the decoded length or -1. */
static long decode_part(const char *s, size_t n, char *out, size_t out_len) {
  while (n && isspace((unsigned char)*s)) s++, n--;
  while (n && isspace((unsigned char)s[n - 1])) n--;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= n) return -1; /* fewer than two characters follow */
      int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
      if (h < 0 || l < 0) return -1;
      c = (unsigned char)(h * 16 + l);
      i += 2;
    }
    if (o + 1 >= out_len) return -1;
    out[o++] = (char)c;
  }
  out[o] = 0;
  return (long)o;
}

int otelc_otlp_headers_parse(const char *text, wire_headers *out, int *bad) {
  int added = 0, nbad = 0;
  char key[256], value[4096];
  const char *p = text ? text : "";
  while (*p) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *item = p;
    p += n + (end ? 1 : 0);
    /* skip empty entries (",," or a trailing comma) */
    size_t k = 0;
    while (k < n && isspace((unsigned char)item[k])) k++;
    if (k == n) continue;
    const char *eq = memchr(item, '=', n);
    if (!eq) {
      nbad++;
      continue;
    }
    long kl = decode_part(item, (size_t)(eq - item), key, sizeof key);
    long vl = decode_part(eq + 1, n - (size_t)(eq - item) - 1, value, sizeof value);
    bool ok = kl > 0 && vl >= 0;
    for (long i = 0; ok && i < kl; i++) ok = is_tchar((unsigned char)key[i]);
    for (long i = 0; ok && i < vl; i++) {
      unsigned char c = (unsigned char)value[i];
      ok = (c >= 0x20 && c != 0x7f) || c == '\t';
    }
    if (!ok || out->n >= OTELC_OTLP_MAX_HEADERS ||
        wire_headers_add(out, key, (size_t)kl, value, (size_t)vl, NULL) < 0) {
      nbad++;
      continue;
    }
    added++;
  }
  if (bad) *bad = nbad;
  return added;
}

/* ---- the OTLP/HTTP path rule ------------------------------------------------------------------------ */

int otelc_otlp_http_path(const wire_endpoint *ep, bool signal_specific, char *out, size_t out_len) {
  int n;
  if (signal_specific) {
    n = snprintf(out, out_len, "%s", ep->path[0] ? ep->path : "/");
  } else {
    size_t pl = strlen(ep->path);
    bool slash = pl > 0 && ep->path[pl - 1] == '/';
    n = snprintf(out, out_len, "%s%s%s", ep->path, slash ? "" : "/", OTELC_OTLP_HTTP_SIGNAL_PATH);
  }
  return n < 0 || (size_t)n >= out_len ? -1 : 0;
}

/* ---- resolution ------------------------------------------------------------------------------------- */

/* The signal-specific variable if set, else the generic one; *which names the one used. */
static const char *env_pair(bool ignore_env, const char *specific, const char *generic, const char **which) {
  if (ignore_env) return NULL;
  const char *v = otelc_env_get(specific);
  if (v) {
    if (which) *which = specific;
    return v;
  }
  v = otelc_env_get(generic);
  if (v && which) *which = generic;
  return v;
}

/* A trimmed copy (env values keep trailing spaces). */
static char *dup_trim(const char *s) {
  if (!s) return NULL;
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) n--;
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

static otelc_otlp_protocol resolve_protocol(const otelc_otlp_options *o) {
  if (o && (o->protocol == OTELC_OTLP_GRPC || o->protocol == OTELC_OTLP_HTTP_PROTOBUF)) return o->protocol;
  const char *which = NULL;
  const char *v = env_pair(o && o->ignore_env, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL",
                           &which);
  if (!v) return OTELC_OTLP_HTTP_PROTOBUF;
  char buf[32];
  size_t n = strlen(v);
  while (n && isspace((unsigned char)v[n - 1])) n--;
  if (n >= sizeof buf) n = sizeof buf - 1;
  memcpy(buf, v, n);
  buf[n] = 0;
  if (!strcasecmp(buf, "grpc")) return OTELC_OTLP_GRPC;
  if (!strcasecmp(buf, "http/protobuf")) return OTELC_OTLP_HTTP_PROTOBUF;
  if (!strcasecmp(buf, "http/json")) {
    OTELC_WARN("%s: http/json is not supported by otelc; using http/protobuf", which);
    return OTELC_OTLP_HTTP_PROTOBUF;
  }
  OTELC_WARN("%s: unknown protocol (want grpc|http/protobuf); using http/protobuf", which);
  return OTELC_OTLP_HTTP_PROTOBUF;
}

void otelc_otlp_config_free(otelc_otlp_config *cfg) {
  if (!cfg) return;
  free(cfg->endpoint);
  free(cfg->http_path);
  free(cfg->certificate);
  free(cfg->client_certificate);
  free(cfg->client_key);
  wire_headers_free(&cfg->headers);
  memset(cfg, 0, sizeof *cfg);
}

int otelc_otlp_config_resolve(const otelc_otlp_options *o, otelc_otlp_config *cfg, char *why, size_t why_len) {
  memset(cfg, 0, sizeof *cfg);
  wire_headers_init(&cfg->headers, 64 * 1024, OTELC_OTLP_MAX_HEADERS);
  bool ign = o && o->ignore_env;
  bool grpc = (cfg->protocol = resolve_protocol(o)) == OTELC_OTLP_GRPC;

  /* endpoint */
  bool signal_specific = true;
  const char *ep_text = NULL;
  if (o && o->endpoint && o->endpoint[0]) {
    ep_text = o->endpoint;
    cfg->endpoint_source = "options";
  } else if (!ign && (ep_text = otelc_env_get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))) {
    cfg->endpoint_source = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
  } else if (!ign && (ep_text = otelc_env_get("OTEL_EXPORTER_OTLP_ENDPOINT"))) {
    cfg->endpoint_source = "OTEL_EXPORTER_OTLP_ENDPOINT";
    signal_specific = false;
  } else {
    ep_text = grpc ? OTELC_OTLP_DEFAULT_GRPC_ENDPOINT : OTELC_OTLP_DEFAULT_HTTP_ENDPOINT;
    cfg->endpoint_source = "default";
    signal_specific = false;
  }
  cfg->endpoint = dup_trim(ep_text);
  if (!cfg->endpoint) goto nomem;
  wire_err err;
  if (wire_endpoint_parse(cfg->endpoint, 0, &cfg->ep, &err) < 0) {
    snprintf(why, why_len, "%s: %s", cfg->endpoint_source, err.msg);
    goto fail;
  }
  if (!strcmp(cfg->ep.scheme, "http") && !grpc) cfg->default_port = 80;
  else if (!strcmp(cfg->ep.scheme, "https") && !grpc) cfg->default_port = 443;
  else cfg->default_port = grpc ? 4317 : 4318;
  if (cfg->ep.port == 0 && !cfg->ep.is_unix) cfg->ep.port = cfg->default_port;

  /* transport security: the scheme decides; without one, INSECURE does (TLS by default) */
  int insecure = o && o->insecure ? o->insecure : 0;
  if (insecure == 0) {
    insecure = ign ? -1 : otelc_env_bool("OTEL_EXPORTER_OTLP_METRICS_INSECURE",
                                         otelc_env_bool("OTEL_EXPORTER_OTLP_INSECURE", false)) ? 1 : -1;
  }
  if (cfg->ep.is_unix || !strcmp(cfg->ep.scheme, "http")) cfg->tls = false;
  else if (!strcmp(cfg->ep.scheme, "https")) cfg->tls = true;
  else cfg->tls = insecure < 0;
  if (!grpc && !cfg->ep.scheme[0] && !cfg->ep.is_unix)
    OTELC_WARN("%s: an OTLP/HTTP endpoint should start with http:// or https://; using %s", cfg->endpoint_source,
               cfg->tls ? "https (set OTEL_EXPORTER_OTLP_INSECURE=true for http)" : "http");

  if (!grpc) {
    char path[sizeof cfg->ep.path + 16];
    if (otelc_otlp_http_path(&cfg->ep, signal_specific, path, sizeof path) < 0) {
      snprintf(why, why_len, "%s: the endpoint path is too long", cfg->endpoint_source);
      goto fail;
    }
    cfg->http_path = strdup(path);
    if (!cfg->http_path) goto nomem;
  }

  /* headers */
  const char *hwhich = "options";
  const char *htext = o && o->headers
                          ? o->headers
                          : env_pair(ign, "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", &hwhich);
  if (htext) {
    int bad = 0;
    otelc_otlp_headers_parse(htext, &cfg->headers, &bad);
    if (bad) OTELC_WARN("%s: %d malformed entr%s skipped (want key=value,key2=value2, percent-encoded)", hwhich, bad,
                        bad == 1 ? "y" : "ies");
  }

  /* timeout */
  if (o && o->timeout_ms > 0) {
    cfg->timeout_ms = o->timeout_ms;
  } else if (ign) {
    cfg->timeout_ms = OTELC_OTLP_DEFAULT_TIMEOUT_MS;
  } else {
    int64_t generic = otelc_env_int("OTEL_EXPORTER_OTLP_TIMEOUT", OTELC_OTLP_DEFAULT_TIMEOUT_MS, 1, INT32_MAX);
    cfg->timeout_ms = otelc_env_int("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", generic, 1, INT32_MAX);
  }

  /* compression */
  if (o && o->compression == OTELC_OTLP_COMPRESSION_GZIP) {
    cfg->gzip = true;
  } else if (o && o->compression == OTELC_OTLP_COMPRESSION_NONE) {
    cfg->gzip = false;
  } else if (!ign) {
    static const char *const k_comp[] = {"none", "gzip", NULL};
    int generic = otelc_env_choice("OTEL_EXPORTER_OTLP_COMPRESSION", k_comp, 0);
    cfg->gzip = otelc_env_choice("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", k_comp, generic) == 1;
  }

  /* certificates */
  const char *ca = o && o->certificate ? o->certificate
                                       : env_pair(ign, "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
                                                  "OTEL_EXPORTER_OTLP_CERTIFICATE", NULL);
  const char *cc = o && o->client_certificate ? o->client_certificate
                                              : env_pair(ign, "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
                                                         "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", NULL);
  const char *ck = o && o->client_key ? o->client_key
                                      : env_pair(ign, "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
                                                 "OTEL_EXPORTER_OTLP_CLIENT_KEY", NULL);
  if ((cc == NULL) != (ck == NULL)) {
    OTELC_WARN("OTEL_EXPORTER_OTLP_[METRICS_]CLIENT_CERTIFICATE and _CLIENT_KEY go together; "
               "no client certificate is used");
    cc = ck = NULL;
  }
  if ((ca && !(cfg->certificate = dup_trim(ca))) || (cc && !(cfg->client_certificate = dup_trim(cc))) ||
      (ck && !(cfg->client_key = dup_trim(ck))))
    goto nomem;
  if (!cfg->tls && (ca || cc))
    OTELC_INFO("OTLP exporter: certificates are configured but the endpoint is plaintext; they are not used");

  /* retry backoff */
  cfg->backoff_initial_ms = o && o->retry_initial_backoff_ms > 0 ? o->retry_initial_backoff_ms : 1000;
  cfg->backoff_max_ms = o && o->retry_max_backoff_ms > 0 ? o->retry_max_backoff_ms : 5000;
  if (cfg->backoff_max_ms < cfg->backoff_initial_ms) cfg->backoff_max_ms = cfg->backoff_initial_ms;
  return 0;

nomem:
  snprintf(why, why_len, "out of memory");
fail:
  otelc_otlp_config_free(cfg);
  return -1;
}
