/* h1_driver.c — the HTTP/1.1 protocol driver of a server connection (stub while being written). */
#include "wire/server/exchange.h"

const wire_sconn_driver *wire_h1_driver_new(wire_server *s, wire_sconn *c, void **self) {
  (void)s; (void)c; (void)self;
  return NULL;
}
