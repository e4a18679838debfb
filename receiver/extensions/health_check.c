/* health_check.c — the health_check extension (see health_check.h): a small HTTP server on the loop that
 * reports the service's state. */
#include "receiver/extensions/health_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "receiver/config/components/extensions.h"
#include "receiver/runtime/tls_config.h"
#include "wire/clock.h"
#include "wire/server/http_server.h"

typedef struct health_check {
  component_host *host;
  const health_check_config *cfg;
  char *id;
  wire_server *server;
  char up_since[40];
  int64_t start_ns;
} health_check;

static bool path_is(const char *path, const char *want) {
  size_t n = strcspn(path, "?");
  return strlen(want) == n && !strncmp(path, want, n);
}

static void handle(wire_exchange *ex, void *ud) {
  health_check *h = ud;
  const wire_http_request *req = wire_exchange_request(ex);
  const char *path = req->path ? req->path : "";
  const char *want = h->cfg->path && *h->cfg->path ? h->cfg->path : "/";
  if (!path_is(path, want) && !path_is(path, "/") && !path_is(path, "/healthz") && !path_is(path, "/readyz")) {
    wire_exchange_respond_text(ex, 404, "404 page not found\n");
    return;
  }
  if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
    wire_headers hd;
    wire_headers_init(&hd, 0, 0);
    wire_headers_add_cstr(&hd, "allow", "GET, HEAD", NULL);
    wire_exchange_respond(ex, 405, &hd, NULL, 0, NULL);
    wire_headers_free(&hd);
    return;
  }
  bool ok = h->host->state(h->host) == SERVICE_RUNNING;
  const char *custom = ok ? h->cfg->response_healthy : h->cfg->response_unhealthy;
  char body[256];
  if (custom) {
    snprintf(body, sizeof body, "%s", custom);
  } else {
    double up = (double)(wire_now_ns() - h->start_ns) / 1e9;
    snprintf(body, sizeof body, "{\"status\":\"%s\",\"upSince\":\"%s\",\"uptime\":\"%.3fs\"}",
             ok ? "Server available" : "Server not available", h->up_since, up);
  }
  wire_headers hd;
  wire_headers_init(&hd, 0, 0);
  wire_headers_add_cstr(&hd, "content-type", custom ? "text/plain; charset=utf-8" : "application/json", NULL);
  bool head = !strcmp(req->method, "HEAD");
  wire_exchange_respond(ex, ok ? 200 : 503, &hd, head ? NULL : body, head ? 0 : strlen(body), NULL);
  wire_headers_free(&hd);
}

static int create(const component_create_args *args, void **state, wire_err *err) {
  health_check *h = calloc(1, sizeof *h);
  if (!h || !(h->id = strdup(args->id))) {
    free(h);
    return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
  }
  h->host = args->host;
  h->cfg = args->config;
  *state = h;
  return 0;
}

static int start(void *state, wire_err *err) {
  health_check *h = state;
  wire_tls_config tls;
  if (h->cfg->tls && rt_tls_server_config(h->cfg->tls, h->id, &tls, err) < 0) return -1;
  wire_server_config sc = {
      .endpoint = h->cfg->endpoint ? h->cfg->endpoint : "127.0.0.1:13133",
      .tls = h->cfg->tls ? &tls : NULL,
      .max_body_bytes = 4096,
      .max_connections = 256,
  };
  h->server = wire_server_start(h->host->loop, &sc, handle, h, err);
  if (!h->server) return -1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  strftime(h->up_since, sizeof h->up_since, "%Y-%m-%dT%H:%M:%SZ", &tm);
  h->start_ns = wire_now_ns();
  char port[8];
  snprintf(port, sizeof port, "%u", wire_server_port(h->server));
  h->host->log(h->host, LOG_INFO, h->id, "Starting health_check extension", "endpoint", sc.endpoint, "port", port,
               NULL);
  return 0;
}

static void stopped(void *arg) {
  health_check *h = arg;
  h->host->release(h->host);
}

static int shutdown_(void *state, wire_err *err) {
  (void)err;
  health_check *h = state;
  if (!h->server) return 0;
  wire_server *s = h->server;
  h->server = NULL;
  h->host->hold(h->host);
  wire_server_stop(s, stopped, h);
  return 0;
}

static void destroy(void *state) {
  health_check *h = state;
  if (!h) return;
  free(h->id);
  free(h);
}

uint16_t health_check_port(const void *state) {
  const health_check *h = state;
  return h && h->server ? wire_server_port(h->server) : 0;
}

const component_hooks health_check_extension_hooks = {
    .create = create,
    .start = start,
    .shutdown = shutdown_,
    .destroy = destroy,
};
