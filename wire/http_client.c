/* http_client.c — the synchronous HTTP client front (see http_client.h): owns the endpoint, the TLS context
 * and one kept-alive connection, chooses HTTP/1.1 or HTTP/2, and hands each request to the protocol engine
 * (http1_client.c or h2_client.c). */
#include "wire/http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wire_client {
  wire_endpoint ep;
  wire_client_proto proto;
  bool use_tls;
  wire_tls_client *tls;
  size_t max_response_bytes, max_header_bytes;
  wire_conn *conn;
  wire_h2_client *h2;      /* set when the connection speaks HTTP/2 */
  char authority[300];
};

wire_client *wire_client_new(const wire_client_config *cfg, wire_err *err) {
  wire_client *c = calloc(1, sizeof *c);
  if (!c) {
    wire_err_set(err, WIRE_E_NOMEM, "out of memory");
    return NULL;
  }
  if (wire_endpoint_parse(cfg->endpoint ? cfg->endpoint : "", cfg->default_port, &c->ep, err) < 0) {
    free(c);
    return NULL;
  }
  c->proto = cfg->proto;
  c->max_response_bytes = cfg->max_response_bytes ? cfg->max_response_bytes : 4 * 1024 * 1024;
  c->max_header_bytes = cfg->max_header_bytes ? cfg->max_header_bytes : 64 * 1024;
  c->use_tls = (c->ep.tls || cfg->force_tls) && !cfg->force_plaintext && !c->ep.is_unix;
  wire_endpoint_authority(&c->ep, c->authority, sizeof c->authority);
  if (c->use_tls) {
    wire_tls_config none = {0};
    const wire_tls_config *tc = cfg->tls ? cfg->tls : &none;
    c->tls = wire_tls_client_new(tc, err);
    if (!c->tls) {
      free(c);
      return NULL;
    }
  }
  return c;
}

const wire_endpoint *wire_client_endpoint(const wire_client *c) { return &c->ep; }

void wire_client_disconnect(wire_client *c) {
  if (c->h2) {
    wire_h2_client_free(c->h2);
    c->h2 = NULL;
  }
  if (c->conn) {
    wire_conn_close(c->conn);
    c->conn = NULL;
  }
}

void wire_client_abandon(wire_client *c) {
  if (c->h2) {
    wire_h2_client_free(c->h2); /* nghttp2_session_del sends nothing */
    c->h2 = NULL;
  }
  if (c->conn) {
    wire_conn_abandon(c->conn);
    c->conn = NULL;
  }
}

void wire_client_free(wire_client *c) {
  if (!c) return;
  wire_client_disconnect(c);
  if (c->tls) wire_tls_client_free(c->tls);
  free(c);
}

static int client_connect(wire_client *c, int64_t deadline_ns, wire_err *err) {
  static const char *const alpn_auto[] = {"h2", "http/1.1", NULL};
  static const char *const alpn_h1[] = {"http/1.1", NULL};
  static const char *const alpn_h2[] = {"h2", NULL};
  const char *const *alpn = c->proto == WIRE_CLIENT_H1 ? alpn_h1 : c->proto == WIRE_CLIENT_H2 ? alpn_h2 : alpn_auto;
  c->conn = wire_conn_open(&c->ep, c->use_tls ? c->tls : NULL, c->use_tls ? alpn : NULL, deadline_ns, err);
  if (!c->conn) return -1;
  bool h2;
  const char *agreed = wire_conn_alpn(c->conn);
  if (c->use_tls && agreed)
    h2 = strcmp(agreed, "h2") == 0;
  else
    h2 = c->proto == WIRE_CLIENT_H2; /* plaintext: h2c with prior knowledge only when asked for */
  if (c->proto == WIRE_CLIENT_H2 && !h2) {
    wire_err_set(err, WIRE_E_PROTOCOL, "%s:%u did not agree to HTTP/2 (ALPN: %s)", c->ep.host, c->ep.port,
                 agreed ? agreed : "none");
    wire_client_disconnect(c);
    return -1;
  }
  if (h2) {
    c->h2 = wire_h2_client_new(c->conn, err);
    if (!c->h2) {
      wire_client_disconnect(c);
      return -1;
    }
  }
  return 0;
}

int wire_client_do(wire_client *c, const wire_http_request *req, wire_http_response *resp, int64_t deadline_ns,
                   wire_err *err) {
  wire_http_request r = *req; /* shallow: only the authority may be defaulted */
  if (!r.authority) r.authority = c->authority;
  if (!r.scheme) r.scheme = c->use_tls ? "https" : "http";
  if (resp->body.limit == 0 || resp->body.limit == SIZE_MAX) resp->body.limit = c->max_response_bytes;
  if (resp->headers.max_bytes == 0) resp->headers.max_bytes = c->max_header_bytes;
  if (resp->trailers.max_bytes == 0) resp->trailers.max_bytes = c->max_header_bytes;

  for (int attempt = 0; attempt < 2; attempt++) {
    bool reused = c->conn != NULL;
    /* HTTP/2: the session reads frames the server sent while idle (SETTINGS, PING) and knows about GOAWAY;
     * HTTP/1.1: any unread byte or EOF on an idle connection means it is dead. */
    if (reused && (c->h2 ? !wire_h2_client_usable(c->h2) : !wire_conn_alive(c->conn))) {
      wire_client_disconnect(c);
      reused = false;
    }
    if (!c->conn && client_connect(c, deadline_ns, err) < 0) return -1;
    wire_http_response_reset(resp);
    int rc;
    if (c->h2) {
      rc = wire_h2_roundtrip(c->h2, &r, resp, deadline_ns, err);
      if (rc < 0 || !wire_h2_client_usable(c->h2)) {
        bool was_io = rc < 0 && err && err->code == WIRE_E_IO;
        wire_client_disconnect(c);
        if (rc < 0 && was_io && reused && resp->status == 0) continue; /* stale connection: once more */
      }
    } else {
      bool reusable = false;
      rc = wire_h1_roundtrip(c->conn, &r, resp, deadline_ns, &reusable, err);
      if (rc < 0 || !reusable) {
        bool was_io = rc < 0 && err && err->code == WIRE_E_IO;
        wire_client_disconnect(c);
        if (rc < 0 && was_io && reused && resp->status == 0) continue;
      }
    }
    return rc;
  }
  return -1;
}
