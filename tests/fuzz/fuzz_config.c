// fuzz-links: receiver
/* fuzz_config.c — libFuzzer target for the receiver's configuration loading: YAML parsing (anchors, aliases,
 * merge keys, limits), ${env}/${file} substitution, the schema decoder of every component, the pipeline graph and
 * --print-config, on arbitrary bytes. Every input must end in a config or in diagnostics, with no crash, leak or
 * unbounded memory. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "receiver/config/config.h"

static const char *fuzz_env(const char *name, void *ud) {
  (void)ud;
  if (!strcmp(name, "PORT")) return "4317";
  if (!strcmp(name, "MAP")) return "{a: 1, b: [x, y]}";
  if (!strcmp(name, "EMPTY")) return "";
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *sink;
  if (!sink) sink = fopen("/dev/null", "w");
  cfg_diags d;
  cfg_diags_init(&d);
  otelc_config *c = config_load_buffer("fuzz.yaml", (const char *)data, size, fuzz_env, NULL, &d);
  if (c) {
    if (sink) config_print(c, sink);
    config_free(c);
  }
  if (sink) cfg_diags_print(&d, sink);
  cfg_diags_free(&d);
  return 0;
}
