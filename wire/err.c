/* err.c — error values of the wire layer (see err.h). */
#include "wire/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int wire_err_set(wire_err *e, wire_err_code code, const char *fmt, ...) {
  if (!e) return -1;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

void wire_err_prefix(wire_err *e, const char *fmt, ...) {
  if (!e) return;
  char prefix[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t pl = strlen(prefix), ol = strnlen(e->msg, sizeof e->msg - 1);
  if (pl > sizeof e->msg - 1) pl = sizeof e->msg - 1;
  if (pl + ol > sizeof e->msg - 1) ol = sizeof e->msg - 1 - pl; /* keep the prefix, cut the tail */
  memmove(e->msg + pl, e->msg, ol);
  memcpy(e->msg, prefix, pl);
  e->msg[pl + ol] = '\0';
}

void wire_err_clear(wire_err *e) {
  if (!e) return;
  e->code = WIRE_OK;
  e->msg[0] = '\0';
}

const char *wire_err_code_name(wire_err_code code) {
  switch (code) {
  case WIRE_OK: return "ok";
  case WIRE_E_INVALID: return "invalid";
  case WIRE_E_LIMIT: return "limit";
  case WIRE_E_IO: return "io";
  case WIRE_E_TIMEOUT: return "timeout";
  case WIRE_E_TLS: return "tls";
  case WIRE_E_DNS: return "dns";
  case WIRE_E_PROTOCOL: return "protocol";
  case WIRE_E_UNSUPPORTED: return "unsupported";
  case WIRE_E_NOMEM: return "nomem";
  case WIRE_E_CLOSED: return "closed";
  }
  return "unknown";
}
