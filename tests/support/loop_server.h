/* loop_server.h — for wire tests: runs an HTTP server (wire_server_start) on its own libuv loop in a thread,
 * so that the test thread can talk to it with blocking clients and raw sockets on 127.0.0.1. Start it with a
 * config and a handler, read its port, and stop it: gracefully (wire_server_stop), after which the loop ends
 * and is closed, checked to leave no handle open. */
#ifndef OTELC_TESTS_LOOP_SERVER_H
#define OTELC_TESTS_LOOP_SERVER_H

#include <pthread.h>
#include <stdint.h>
#include <uv.h>

#include "wire/server/http_server.h"

typedef struct loop_server {
  uv_loop_t loop;
  uv_async_t stop_async;
  pthread_t thread;
  wire_server *srv;
  uint16_t port; /* the bound port, once started */
} loop_server;

/* Starts a server with cfg and handler(ex, ud) on a new loop and its thread. Returns 0, or -1 with the reason
 * printed on stderr (nothing left running). */
int loop_server_start(loop_server *s, const wire_server_config *cfg, wire_handler_fn handler, void *ud);

/* Asks the server to stop (it finishes what it has begun) without waiting; loop_server_join waits. */
void loop_server_request_stop(loop_server *s);

/* Waits until the loop thread has ended, then closes the loop (CHECK: no handle left open). */
void loop_server_join(loop_server *s);

/* loop_server_request_stop, then loop_server_join. */
void loop_server_stop(loop_server *s);

#endif
