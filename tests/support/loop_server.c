/* loop_server.c — an HTTP server on its own libuv loop thread for wire tests (see loop_server.h). */
#include "loop_server.h"

#include <stdio.h>
#include <string.h>

#include "testlib.h"

static void server_stopped(void *arg) {
  loop_server *s = arg;
  uv_close((uv_handle_t *)&s->stop_async, NULL);
}

static void on_stop_async(uv_async_t *a) {
  loop_server *s = a->data;
  wire_server_stop(s->srv, server_stopped, s);
}

static void *loop_thread(void *arg) {
  loop_server *s = arg;
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return NULL;
}

int loop_server_start(loop_server *s, const wire_server_config *cfg, wire_handler_fn handler, void *ud) {
  memset(s, 0, sizeof *s);
  uv_loop_init(&s->loop);
  uv_async_init(&s->loop, &s->stop_async, on_stop_async);
  s->stop_async.data = s;
  wire_err err = {0};
  s->srv = wire_server_start(&s->loop, cfg, handler, ud, &err);
  if (!s->srv) {
    fprintf(stderr, "server: %s\n", err.msg);
    uv_close((uv_handle_t *)&s->stop_async, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    return -1;
  }
  s->port = wire_server_port(s->srv);
  pthread_create(&s->thread, NULL, loop_thread, s);
  return 0;
}

void loop_server_request_stop(loop_server *s) { uv_async_send(&s->stop_async); }

void loop_server_join(loop_server *s) {
  pthread_join(s->thread, NULL);
  CHECK_EQ(uv_loop_close(&s->loop), 0);
}

void loop_server_stop(loop_server *s) {
  loop_server_request_stop(s);
  loop_server_join(s);
}
