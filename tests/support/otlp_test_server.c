/* otlp_test_server.c — the in-process OTLP server of the tests (see otlp_test_server.h).
 *
 * The server runs wire_server (wire/server/http_server.h) on a libuv loop in its own thread. The test thread
 * talks to the loop through one uv_async handle carrying one command at a time (down, up, stop) and waits for
 * its completion on a condition variable; requests and scripted replies live under one mutex. Bodies are
 * decompressed here rather than by the server so that the test can see whether the client used gzip. */
#include "otlp_test_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#include "wire/clock.h"
#include "wire/grpc.h"
#include "wire/gzip.h"
#include "wire/otlp_json.h"
#include "wire/server/grpc_server.h"
#include "wire/server/http_server.h"

#define EXPORT_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define MAX_QUEUED_REPLIES 64

enum { CMD_NONE = 0, CMD_DOWN, CMD_UP, CMD_STOP };

/* A reply with its own copies of the strings. */
typedef struct owned_reply {
  otlp_test_reply r;
  char retry_after[64];
  char message[256];
  char partial[256];
} owned_reply;

typedef struct delayed_reply {
  uv_timer_t timer;
  struct otlp_test_server *s;
  wire_exchange *ex;
  bool grpc, json;
  owned_reply reply;
  struct delayed_reply *next;
} delayed_reply;

struct otlp_test_server {
  uv_loop_t loop;
  uv_async_t async;
  wire_server *server; /* NULL while down (loop thread only) */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_mutex_t cmd_mu; /* one command at a time */

  /* configuration */
  bool has_tls;
  wire_tls_config tls;
  char *tls_strings[6];
  size_t max_stored, max_body;
  uint16_t port;
  char url[64], http_url[96];

  /* command (mu) */
  int cmd;
  bool cmd_done;
  int cmd_rc;
  bool ready, start_failed;

  /* replies (mu) */
  owned_reply queue[MAX_QUEUED_REPLIES];
  size_t q_head, q_len;
  owned_reply def;

  /* requests (mu) */
  otlp_test_request **reqs;
  size_t n_reqs, cap_reqs;
  size_t count;

  delayed_reply *pending; /* loop thread only */
};

/* ---- replies ---------------------------------------------------------------------------------------- */

static void own_reply(owned_reply *o, const otlp_test_reply *r) {
  memset(o, 0, sizeof *o);
  if (!r) return;
  o->r = *r;
  if (r->retry_after) {
    snprintf(o->retry_after, sizeof o->retry_after, "%s", r->retry_after);
    o->r.retry_after = o->retry_after;
  }
  if (r->message) {
    snprintf(o->message, sizeof o->message, "%s", r->message);
    o->r.message = o->message;
  }
  if (r->partial_message) {
    snprintf(o->partial, sizeof o->partial, "%s", r->partial_message);
    o->r.partial_message = o->partial;
  }
}

/* Re-points the string fields of a copied owned_reply at its own buffers. */
static void fix_pointers(owned_reply *o) {
  if (o->r.retry_after) o->r.retry_after = o->retry_after;
  if (o->r.message) o->r.message = o->message;
  if (o->r.partial_message) o->r.partial_message = o->partial;
}

void otlp_test_server_push_reply(otlp_test_server *s, const otlp_test_reply *r, int times) {
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < times && s->q_len < MAX_QUEUED_REPLIES; i++) {
    owned_reply *o = &s->queue[(s->q_head + s->q_len) % MAX_QUEUED_REPLIES];
    own_reply(o, r);
    s->q_len++;
  }
  pthread_mutex_unlock(&s->mu);
}

void otlp_test_server_set_default(otlp_test_server *s, const otlp_test_reply *r) {
  pthread_mutex_lock(&s->mu);
  own_reply(&s->def, r);
  pthread_mutex_unlock(&s->mu);
}

void otlp_test_server_clear_replies(otlp_test_server *s) {
  pthread_mutex_lock(&s->mu);
  s->q_len = 0;
  pthread_mutex_unlock(&s->mu);
}

/* Caller holds mu. */
static void pop_reply(otlp_test_server *s, owned_reply *out) {
  if (s->q_len) {
    *out = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) % MAX_QUEUED_REPLIES;
    s->q_len--;
  } else {
    *out = s->def;
  }
  fix_pointers(out);
}

static void send_reply(wire_exchange *ex, bool grpc, bool json, const otlp_test_reply *r) {
  otlp_response resp = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
  otlp_partial_success ps = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
  if (r->rejected_points || r->partial_message) {
    ps.rejected_data_points = r->rejected_points;
    ps.error_message = (char *)(r->partial_message ? r->partial_message : "");
    resp.partial_success = &ps;
  }
  wire_buf body;
  wire_buf_init(&body, 0);
  if (grpc) {
    if (r->grpc_code == 0) {
      wire_otlp_encode_response(&resp, &body, NULL);
      wire_grpc_respond(ex, body.data, body.len);
    } else {
      wire_grpc_respond_status(ex, r->grpc_code, r->message ? r->message : "scripted failure",
                               r->retry_info ? r->retry_delay_ns : -1);
    }
    wire_buf_free(&body);
    return;
  }
  int status = r->http_status ? r->http_status : 200;
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  if (status >= 200 && status < 300) {
    if (json) {
      wire_otlp_json_encode_response(&resp, &body, NULL);
      wire_headers_add_cstr(&h, "content-type", "application/json", NULL);
    } else {
      wire_otlp_encode_response(&resp, &body, NULL);
      wire_headers_add_cstr(&h, "content-type", "application/x-protobuf", NULL);
    }
  } else {
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = r->grpc_code ? r->grpc_code : WIRE_GRPC_UNAVAILABLE;
    st.message = (char *)(r->message ? r->message : "scripted failure");
    wire_otlp_encode_message(&st.base, "status", &body, NULL);
    wire_headers_add_cstr(&h, "content-type", "application/x-protobuf", NULL);
    if (r->retry_after) wire_headers_add_cstr(&h, "retry-after", r->retry_after, NULL);
  }
  wire_exchange_respond(ex, status, &h, body.data, body.len, NULL);
  wire_headers_free(&h);
  wire_buf_free(&body);
}

static void delayed_closed(uv_handle_t *h) { free(h->data); }

static void delayed_fire(uv_timer_t *t) {
  delayed_reply *d = t->data;
  otlp_test_server *s = d->s;
  for (delayed_reply **pp = &s->pending; *pp; pp = &(*pp)->next) {
    if (*pp == d) {
      *pp = d->next;
      break;
    }
  }
  send_reply(d->ex, d->grpc, d->json, &d->reply.r);
  uv_timer_stop(&d->timer);
  uv_close((uv_handle_t *)&d->timer, delayed_closed);
}

static void answer_pending_now(otlp_test_server *s) {
  while (s->pending) delayed_fire(&s->pending->timer);
}

/* ---- requests --------------------------------------------------------------------------------------- */

static void free_request(otlp_test_request *q) {
  if (!q) return;
  wire_headers_free(&q->headers);
  if (q->req) wire_otlp_request_free(q->req, NULL);
  free(q);
}

static void store_request(otlp_test_server *s, otlp_test_request *q) {
  pthread_mutex_lock(&s->mu);
  s->count++;
  bool kept = false;
  if (s->n_reqs < s->max_stored) {
    if (s->n_reqs == s->cap_reqs) {
      size_t cap = s->cap_reqs ? s->cap_reqs * 2 : 64;
      otlp_test_request **v = realloc(s->reqs, cap * sizeof *v);
      if (v) {
        s->reqs = v;
        s->cap_reqs = cap;
      }
    }
    if (s->n_reqs < s->cap_reqs) {
      s->reqs[s->n_reqs++] = q;
      kept = true;
    }
  }
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (!kept) free_request(q);
}

static bool starts_with_ci(const char *s, const char *prefix) {
  return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void handler(wire_exchange *ex, void *ud) {
  otlp_test_server *s = ud;
  const wire_http_request *hr = wire_exchange_request(ex);
  otlp_test_request *q = calloc(1, sizeof *q);
  if (!q) {
    wire_exchange_respond_text(ex, 500, "out of memory\n");
    return;
  }
  q->received_ns = wire_now_ns();
  q->tls = wire_exchange_is_tls(ex);
  snprintf(q->method, sizeof q->method, "%s", hr->method);
  snprintf(q->path, sizeof q->path, "%s", hr->path ? hr->path : "");
  const char *ct = wire_headers_get(&hr->headers, "content-type");
  snprintf(q->content_type, sizeof q->content_type, "%s", ct ? ct : "");
  wire_headers_init(&q->headers, 0, 0);
  wire_headers_copy(&q->headers, &hr->headers, NULL);
  q->grpc = wire_grpc_is_grpc_request(hr);
  wire_err err;
  wire_err_clear(&err);

  if (q->grpc) {
    const char *enc = wire_headers_get(&hr->headers, "grpc-encoding");
    q->gzip = enc && strcmp(enc, "gzip") == 0;
    if (strcmp(q->path, EXPORT_PATH) != 0) {
      q->answered = WIRE_GRPC_UNIMPLEMENTED;
      snprintf(q->decode_error, sizeof q->decode_error, "unknown method");
      wire_grpc_respond_status(ex, WIRE_GRPC_UNIMPLEMENTED, "unknown method", -1);
      store_request(s, q);
      return;
    }
    const uint8_t *msg;
    size_t len;
    /* The compressed flag of the message says whether it was really compressed. */
    const wire_http_request *raw = wire_exchange_request(ex);
    if (raw->body.len >= 1 && q->gzip) q->gzip = raw->body.data[0] == 1;
    if (wire_grpc_read_request(ex, s->max_body, &msg, &len, &err) < 0) {
      q->answered = -1; /* answered by wire_grpc_read_request */
      snprintf(q->decode_error, sizeof q->decode_error, "%s", err.msg);
      store_request(s, q);
      return;
    }
    q->req = wire_otlp_decode_request(msg, len, 0, NULL, &err);
    if (!q->req) {
      snprintf(q->decode_error, sizeof q->decode_error, "%s", err.msg);
      q->answered = WIRE_GRPC_INVALID_ARGUMENT;
      wire_grpc_respond_status(ex, WIRE_GRPC_INVALID_ARGUMENT, "not an ExportMetricsServiceRequest", -1);
      store_request(s, q);
      return;
    }
  } else {
    int refuse = 0;
    const char *why = NULL;
    if (strcmp(q->method, "POST") != 0) {
      refuse = 405;
      why = "method not allowed";
    }
    bool json = starts_with_ci(ct, "application/json");
    bool proto = starts_with_ci(ct, "application/x-protobuf");
    if (!refuse && !json && !proto) {
      refuse = 415;
      why = "unsupported content-type";
    }
    q->json = json;
    const char *ce = wire_headers_get(&hr->headers, "content-encoding");
    const uint8_t *body = hr->body.data;
    size_t blen = hr->body.len;
    wire_buf plain;
    wire_buf_init(&plain, s->max_body);
    if (!refuse && ce && strcasecmp(ce, "gzip") == 0) {
      q->gzip = true;
      if (wire_gzip_decompress(body, blen, s->max_body, &plain, &err) < 0) {
        refuse = 400;
        why = "bad gzip body";
      }
      body = plain.data;
      blen = plain.len;
    } else if (!refuse && ce && strcasecmp(ce, "identity") != 0) {
      refuse = 415;
      why = "unsupported content-encoding";
    }
    if (!refuse) {
      q->req = json ? wire_otlp_json_decode_request(body ? body : (const uint8_t *)"", blen, 0, 0, NULL, &err)
                    : wire_otlp_decode_request(body ? body : (const uint8_t *)"", blen, 0, NULL, &err);
      if (!q->req) {
        refuse = 400;
        why = "undecodable body";
      }
    }
    wire_buf_free(&plain);
    if (refuse) {
      snprintf(q->decode_error, sizeof q->decode_error, "%s%s%s", why, err.msg[0] ? ": " : "", err.msg);
      q->answered = refuse;
      wire_exchange_respond_text(ex, refuse, why);
      store_request(s, q);
      return;
    }
  }

  owned_reply reply;
  pthread_mutex_lock(&s->mu);
  pop_reply(s, &reply);
  pthread_mutex_unlock(&s->mu);
  q->answered = q->grpc ? reply.r.grpc_code : (reply.r.http_status ? reply.r.http_status : 200);
  bool grpc = q->grpc, json = q->json;
  store_request(s, q);
  if (reply.r.delay_ms > 0) {
    delayed_reply *d = calloc(1, sizeof *d);
    if (d) {
      d->s = s;
      d->ex = ex;
      d->grpc = grpc;
      d->json = json;
      d->reply = reply;
      fix_pointers(&d->reply);
      uv_timer_init(&s->loop, &d->timer);
      d->timer.data = d;
      d->next = s->pending;
      s->pending = d;
      uv_timer_start(&d->timer, delayed_fire, (uint64_t)reply.r.delay_ms, 0);
      return;
    }
  }
  send_reply(ex, grpc, json, &reply.r);
}

/* ---- the loop thread -------------------------------------------------------------------------------- */

static int listen_now(otlp_test_server *s) {
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", (unsigned)s->port);
  wire_server_config cfg = {
      .endpoint = ep,
      .tls = s->has_tls ? &s->tls : NULL,
      .max_body_bytes = s->max_body,
      .decompress = false,
  };
  wire_err err;
  s->server = wire_server_start(&s->loop, &cfg, handler, s, &err);
  if (!s->server) {
    fprintf(stderr, "otlp_test_server: listen %s: %s\n", ep, err.msg);
    return -1;
  }
  s->port = wire_server_port(s->server);
  return 0;
}

static void finish_cmd(otlp_test_server *s, int rc) {
  pthread_mutex_lock(&s->mu);
  s->cmd_rc = rc;
  s->cmd_done = true;
  s->cmd = CMD_NONE;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void stopped_down(void *arg) { finish_cmd(arg, 0); }

static void stopped_final(void *arg) {
  otlp_test_server *s = arg;
  uv_close((uv_handle_t *)&s->async, NULL);
}

static void on_async(uv_async_t *a) {
  otlp_test_server *s = a->data;
  pthread_mutex_lock(&s->mu);
  int cmd = s->cmd;
  pthread_mutex_unlock(&s->mu);
  switch (cmd) {
  case CMD_DOWN:
    answer_pending_now(s);
    if (s->server) {
      wire_server *srv = s->server;
      s->server = NULL;
      wire_server_stop(srv, stopped_down, s);
    } else {
      finish_cmd(s, 0);
    }
    break;
  case CMD_UP:
    finish_cmd(s, s->server ? 0 : listen_now(s));
    break;
  case CMD_STOP:
    answer_pending_now(s);
    if (s->server) {
      wire_server *srv = s->server;
      s->server = NULL;
      wire_server_stop(srv, stopped_final, s);
    } else {
      uv_close((uv_handle_t *)&s->async, NULL);
    }
    break;
  default:
    break;
  }
}

static void *loop_main(void *arg) {
  otlp_test_server *s = arg;
  uv_loop_init(&s->loop);
  uv_async_init(&s->loop, &s->async, on_async);
  s->async.data = s;
  int rc = listen_now(s);
  pthread_mutex_lock(&s->mu);
  s->ready = true;
  s->start_failed = rc < 0;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (rc < 0) uv_close((uv_handle_t *)&s->async, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  uv_loop_close(&s->loop);
  return NULL;
}

static int run_cmd(otlp_test_server *s, int cmd) {
  pthread_mutex_lock(&s->cmd_mu);
  pthread_mutex_lock(&s->mu);
  s->cmd = cmd;
  s->cmd_done = false;
  pthread_mutex_unlock(&s->mu);
  uv_async_send(&s->async);
  pthread_mutex_lock(&s->mu);
  while (!s->cmd_done) pthread_cond_wait(&s->cv, &s->mu);
  int rc = s->cmd_rc;
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_unlock(&s->cmd_mu);
  return rc;
}

/* ---- public ----------------------------------------------------------------------------------------- */

static const char *keep(otlp_test_server *s, int i, const char *v) {
  if (!v) return NULL;
  s->tls_strings[i] = strdup(v);
  return s->tls_strings[i];
}

otlp_test_server *otlp_test_server_start(const otlp_test_server_options *opts) {
  otlp_test_server *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->cmd_mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->max_stored = opts && opts->max_stored ? opts->max_stored : 4096;
  s->max_body = opts && opts->max_body_bytes ? opts->max_body_bytes : 16u << 20;
  if (opts && opts->tls) {
    s->has_tls = true;
    s->tls = *opts->tls;
    s->tls.ca_file = keep(s, 0, opts->tls->ca_file);
    s->tls.ca_pem = keep(s, 1, opts->tls->ca_pem);
    s->tls.cert_file = keep(s, 2, opts->tls->cert_file);
    s->tls.key_file = keep(s, 3, opts->tls->key_file);
    s->tls.client_ca_file = keep(s, 4, opts->tls->client_ca_file);
    s->tls.min_version = keep(s, 5, opts->tls->min_version);
    s->tls.server_name = NULL;
  }
  if (pthread_create(&s->thread, NULL, loop_main, s) != 0) {
    free(s);
    return NULL;
  }
  pthread_mutex_lock(&s->mu);
  while (!s->ready) pthread_cond_wait(&s->cv, &s->mu);
  bool failed = s->start_failed;
  pthread_mutex_unlock(&s->mu);
  if (failed) {
    pthread_join(s->thread, NULL);
    for (int i = 0; i < 6; i++) free(s->tls_strings[i]);
    free(s);
    return NULL;
  }
  snprintf(s->url, sizeof s->url, "%s://127.0.0.1:%u", s->has_tls ? "https" : "http", (unsigned)s->port);
  snprintf(s->http_url, sizeof s->http_url, "%s/v1/metrics", s->url);
  return s;
}

void otlp_test_server_stop(otlp_test_server *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->cmd = CMD_STOP;
  pthread_mutex_unlock(&s->mu);
  uv_async_send(&s->async);
  pthread_join(s->thread, NULL);
  for (size_t i = 0; i < s->n_reqs; i++) free_request(s->reqs[i]);
  free(s->reqs);
  for (int i = 0; i < 6; i++) free(s->tls_strings[i]);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->cmd_mu);
  pthread_cond_destroy(&s->cv);
  free(s);
}

uint16_t otlp_test_server_port(const otlp_test_server *s) { return s->port; }
const char *otlp_test_server_url(const otlp_test_server *s) { return s->url; }
const char *otlp_test_server_http_url(const otlp_test_server *s) { return s->http_url; }

int otlp_test_server_down(otlp_test_server *s) { return run_cmd(s, CMD_DOWN); }
int otlp_test_server_up(otlp_test_server *s) { return run_cmd(s, CMD_UP); }

size_t otlp_test_server_count(otlp_test_server *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->count;
  pthread_mutex_unlock(&s->mu);
  return n;
}

bool otlp_test_server_wait(otlp_test_server *s, size_t n, int timeout_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t end = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (int64_t)timeout_ms * 1000000LL;
  ts.tv_sec = end / 1000000000LL;
  ts.tv_nsec = end % 1000000000LL;
  pthread_mutex_lock(&s->mu);
  while (s->count < n) {
    if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0 && s->count < n) break;
  }
  bool ok = s->count >= n;
  pthread_mutex_unlock(&s->mu);
  return ok;
}

const otlp_test_request *otlp_test_server_request(otlp_test_server *s, size_t i) {
  pthread_mutex_lock(&s->mu);
  const otlp_test_request *q = i < s->n_reqs ? s->reqs[i] : NULL;
  pthread_mutex_unlock(&s->mu);
  return q;
}

const otlp_test_request *otlp_test_server_latest_with(otlp_test_server *s, const char *name, int64_t pid) {
  const otlp_test_request *found = NULL;
  pthread_mutex_lock(&s->mu);
  for (size_t i = s->n_reqs; i-- > 0 && !found;) {
    const otlp_test_request *q = s->reqs[i];
    if (!q->req || !otlp_test_find_metric(q->req, name)) continue;
    if (pid > 0) {
      char buf[32];
      if (!otlp_test_resource_attr(q->req, "process.pid", buf, sizeof buf) || strtoll(buf, NULL, 10) != pid)
        continue;
    }
    found = q;
  }
  pthread_mutex_unlock(&s->mu);
  return found;
}

void otlp_test_server_clear(otlp_test_server *s) {
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n_reqs; i++) free_request(s->reqs[i]);
  s->n_reqs = 0;
  s->count = 0;
  pthread_mutex_unlock(&s->mu);
}

/* ---- reading decoded requests ----------------------------------------------------------------------- */

const otlp_metric *otlp_test_find_metric(const otlp_request *req, const char *name) {
  if (!req) return NULL;
  for (size_t i = 0; i < req->n_resource_metrics; i++) {
    const otlp_resource_metrics *rm = req->resource_metrics[i];
    for (size_t j = 0; j < rm->n_scope_metrics; j++) {
      const otlp_scope_metrics *sm = rm->scope_metrics[j];
      for (size_t k = 0; k < sm->n_metrics; k++)
        if (sm->metrics[k]->name && strcmp(sm->metrics[k]->name, name) == 0) return sm->metrics[k];
    }
  }
  return NULL;
}

static bool attrs_match(otlp_kv **kv, size_t n, const char *key, const char *value) {
  if (!key) return n == 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(kv[i]->key, key) != 0 || !kv[i]->value) continue;
    const otlp_any *v = kv[i]->value;
    if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
        strcmp(v->string_value, value) == 0)
      return true;
  }
  return false;
}

const otlp_number_point *otlp_test_find_number(const otlp_metric *m, const char *key, const char *value) {
  if (!m) return NULL;
  otlp_number_point **pts = NULL;
  size_t n = 0;
  if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) {
    pts = m->sum->data_points;
    n = m->sum->n_data_points;
  } else if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE) {
    pts = m->gauge->data_points;
    n = m->gauge->n_data_points;
  }
  for (size_t i = 0; i < n; i++)
    if (attrs_match(pts[i]->attributes, pts[i]->n_attributes, key, value)) return pts[i];
  return NULL;
}

const otlp_histogram_point *otlp_test_find_histogram(const otlp_metric *m, const char *key, const char *value) {
  if (!m || m->data_case != OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM) return NULL;
  for (size_t i = 0; i < m->histogram->n_data_points; i++) {
    const otlp_histogram_point *p = m->histogram->data_points[i];
    if (attrs_match(p->attributes, p->n_attributes, key, value)) return p;
  }
  return NULL;
}

double otlp_test_number_value(const otlp_number_point *p) {
  if (!p) return 0;
  return p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE ? p->as_double
                                                                                               : (double)p->as_int;
}

bool otlp_test_resource_attr(const otlp_request *req, const char *key, char *out, size_t out_len) {
  if (!req || !req->n_resource_metrics || !req->resource_metrics[0]->resource) return false;
  const otlp_resource *r = req->resource_metrics[0]->resource;
  for (size_t i = 0; i < r->n_attributes; i++) {
    if (strcmp(r->attributes[i]->key, key) != 0 || !r->attributes[i]->value) continue;
    const otlp_any *v = r->attributes[i]->value;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
      snprintf(out, out_len, "%s", v->string_value);
      return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
      snprintf(out, out_len, "%lld", (long long)v->int_value);
      return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
      snprintf(out, out_len, "%s", v->bool_value ? "true" : "false");
      return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
      snprintf(out, out_len, "%.17g", v->double_value);
      return true;
    default:
      return false;
    }
  }
  return false;
}

size_t otlp_test_point_count(const otlp_request *req) { return req ? (size_t)wire_otlp_count_points(req) : 0; }
