/* main.c — the otelc-receiver command line: parse flags, load and validate the configuration, then run.
 *
 *   otelc-receiver [--config SRC]... [--set key::path=value]... [--validate] [--print-config]
 *                  [--version] [--help]
 *   otelc-receiver validate --config SRC ...      (the Collector's subcommand form)
 *   otelc-receiver components                     (lists the component types this build knows)
 *
 * Exit status: 0 success (also after a SIGTERM/SIGINT drain); 1 invalid configuration or pipelines that cannot
 * start; 2 usage error.
 *
 * Memory: glibc gives each thread that allocates its own arena (up to 8 per core), and each keeps what was freed in
 * it; the receiver's threads (the loop, exporter queue consumers, file writers) are few and allocate little
 * concurrently, so two arenas are plenty, and memory freed after a burst is not spread over arenas where
 * malloc_trim and the memory_limiter's accounting see it as RSS for long (MALLOC_ARENA_MAX in the environment
 * still wins). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/component.h"
#include "receiver/config/config.h"
#include "receiver/runtime/runtime.h"

#ifndef OTELC_VERSION
#define OTELC_VERSION "0.0.0"
#endif
#ifndef OTELC_GIT_DESCRIBE
#define OTELC_GIT_DESCRIBE ""
#endif

#define MAX_ARGS 64

typedef struct cli {
  const char *sources[MAX_ARGS];
  size_t nsources;
  const char *sets[MAX_ARGS];
  size_t nsets;
  bool validate, print_config, version, help, components;
} cli;

static void usage(FILE *out) {
  fputs("usage: otelc-receiver [--config SRC]... [--set key::path=value]... [--validate] [--print-config]\n"
        "                      [--version] [--help]\n"
        "       otelc-receiver validate --config SRC...\n"
        "       otelc-receiver components\n"
        "\n"
        "The node-local OpenTelemetry metrics receiver of otelc, configured like the OpenTelemetry Collector.\n"
        "\n"
        "  --config SRC      configuration source; repeat to merge several (maps merge, later wins):\n"
        "                    FILE or file:FILE, yaml:INLINE (e.g. yaml:exporters::debug::verbosity: detailed),\n"
        "                    env:VAR. Without --config the built-in default runs: OTLP on 127.0.0.1:4317 (gRPC)\n"
        "                    and 127.0.0.1:4318 (HTTP) -> batch -> prometheus (127.0.0.1:8889) and debug.\n"
        "  --set KEY=VALUE   override one value after the sources, KEY with '::' between levels, VALUE as YAML\n"
        "                    (e.g. --set processors::batch::timeout=1s)\n"
        "  --validate        check the configuration, print problems, exit 0 if valid and 1 if not\n"
        "  --print-config    print the effective configuration (defaults filled in, secrets redacted)\n"
        "  --version         print the version\n"
        "  --help            print this help\n"
        "\n"
        "Values may use ${env:VAR}, ${VAR}, ${env:VAR:-default} and ${file:/path}; $$ is a literal '$'.\n",
        out);
}

/* Takes "--flag VALUE" or "--flag=VALUE"; returns the value or NULL (usage error reported). */
static const char *flag_value(int argc, char **argv, int *i, const char *flag) {
  size_t n = strlen(flag);
  const char *a = argv[*i];
  if (a[n] == '=') return a + n + 1;
  if (*i + 1 >= argc) {
    fprintf(stderr, "otelc-receiver: %s needs a value\n", flag);
    return NULL;
  }
  return argv[++*i];
}

static bool is_flag(const char *arg, const char *flag) {
  size_t n = strlen(flag);
  return !strncmp(arg, flag, n) && (arg[n] == '\0' || arg[n] == '=');
}

static int parse_args(int argc, char **argv, cli *c) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (is_flag(a, "--config") || is_flag(a, "-config")) {
      const char *v = flag_value(argc, argv, &i, a[1] == '-' ? "--config" : "-config");
      if (!v) return -1;
      if (c->nsources == MAX_ARGS) {
        fprintf(stderr, "otelc-receiver: too many --config\n");
        return -1;
      }
      c->sources[c->nsources++] = v;
    } else if (is_flag(a, "--set")) {
      const char *v = flag_value(argc, argv, &i, "--set");
      if (!v) return -1;
      if (c->nsets == MAX_ARGS) {
        fprintf(stderr, "otelc-receiver: too many --set\n");
        return -1;
      }
      c->sets[c->nsets++] = v;
    } else if (is_flag(a, "--feature-gates")) {
      const char *v = flag_value(argc, argv, &i, "--feature-gates");
      if (!v) return -1;
      fprintf(stderr, "warning: --feature-gates has no effect in otelc-receiver\n");
    } else if (!strcmp(a, "--validate") || (i == 1 && !strcmp(a, "validate"))) {
      c->validate = true;
    } else if (!strcmp(a, "--print-config") || (i == 1 && !strcmp(a, "print-config"))) {
      c->print_config = true;
    } else if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
      c->version = true;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      c->help = true;
    } else if (i == 1 && !strcmp(a, "components")) {
      c->components = true;
    } else {
      fprintf(stderr, "otelc-receiver: unknown argument \"%s\" (see --help)\n", a);
      return -1;
    }
  }
  return 0;
}

static void print_components(FILE *out) {
  static const component_kind kinds[] = {COMPONENT_RECEIVER, COMPONENT_PROCESSOR, COMPONENT_EXPORTER,
                                         COMPONENT_EXTENSION};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    fprintf(out, "%s:\n", component_kind_section(kinds[k]));
    for (size_t i = 0; i < registry_count(); i++) {
      const component_factory *f = registry_at(i);
      if (f->kind != kinds[k]) continue;
      fprintf(out, "  %-16s %s%s\n", f->type, f->doc ? f->doc : "",
              f->alias_of ? "" : f->hooks ? "" : " [config only: runtime not in this build]");
    }
  }
}

/* Runs the pipelines until a stop signal (receiver/runtime/runtime.h); SIGHUP loads `opts` again. */
static int run(otelc_config *cfg, const config_options *opts) {
  service_run_options ro = {.version = OTELC_VERSION};
  return service_run(cfg, opts, &ro);
}

int main(int argc, char **argv) {
  if (!getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
  cli c = {0};
  if (parse_args(argc, argv, &c) < 0) {
    usage(stderr);
    return 2;
  }
  if (c.help) {
    usage(stdout);
    return 0;
  }
  if (c.version) {
    printf("otelc-receiver %s%s%s%s\n", OTELC_VERSION, *OTELC_GIT_DESCRIBE ? " (" : "", OTELC_GIT_DESCRIBE,
           *OTELC_GIT_DESCRIBE ? ")" : "");
    return 0;
  }
  if (c.components) {
    print_components(stdout);
    return 0;
  }

  config_options opts = {.sources = c.sources, .nsources = c.nsources, .sets = c.sets, .nsets = c.nsets};
  cfg_diags diags;
  cfg_diags_init(&diags);
  otelc_config *cfg = config_load(&opts, &diags);
  cfg_diags_print(&diags, stderr);
  if (!cfg) {
    fprintf(stderr, "otelc-receiver: invalid configuration (%zu error%s)\n", diags.errors,
            diags.errors == 1 ? "" : "s");
    cfg_diags_free(&diags);
    return 1;
  }
  cfg_diags_free(&diags);

  int status = 0;
  if (c.print_config) config_print(cfg, stdout);
  if (c.validate) {
    const service_graph *g = config_graph(cfg);
    fprintf(stderr, "otelc-receiver: configuration is valid (%zu pipeline%s, %zu component%s)\n", g->npipelines,
            g->npipelines == 1 ? "" : "s", g->ncomponents, g->ncomponents == 1 ? "" : "s");
  }
  if (!c.validate && !c.print_config) status = run(cfg, &opts);
  config_free(cfg);
  return status;
}
