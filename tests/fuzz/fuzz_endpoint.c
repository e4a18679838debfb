// fuzz-links: wire
/* fuzz_endpoint.c — libFuzzer target for the endpoint parser (wire/endpoint.c): any bytes must parse or fail
 * cleanly, and a parsed endpoint must be self-consistent (terminated fields, authority formattable, and
 * re-parsing its authority gives the same host and port). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  wire_endpoint ep;
  wire_err err;
  if (wire_endpoint_parse(text, 4317, &ep, &err) == 0) {
    if (memchr(ep.host, '\0', sizeof ep.host) == NULL || memchr(ep.path, '\0', sizeof ep.path) == NULL) abort();
    if (ep.host[0] == '\0') abort();
    char auth[300];
    wire_endpoint_authority(&ep, auth, sizeof auth);
    if (!ep.is_unix) {
      wire_endpoint again;
      if (wire_endpoint_parse(auth, 1, &again, &err) != 0) abort();
      if (strcmp(again.host, ep.host) != 0 || again.port != ep.port) abort();
    }
  } else if (err.msg[0] == '\0' || err.code != WIRE_E_INVALID) {
    abort();
  }
  free(text);
  return 0;
}
