/* test_config_cli.c — the otelc-receiver binary's command line: --validate exit codes and messages, --print-config
 * (default config, merged files, --set, redaction), --version, --help, usage errors, the Collector's `validate`
 * subcommand and --config=file: sources. Runs $OTELC_BUILD_DIR/receiver/otelc-receiver. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static char bin[1024], data[1024], out_path[1024], err_path[1024];
static char *out_text, *err_text;

/* Runs the receiver with `args`; returns its exit status, keeps stdout/stderr in out_text/err_text. */
static int run(const char *args) {
  free(out_text);
  free(err_text);
  int rc = test_sh("cd '%s' && '%s' %s >'%s' 2>'%s' </dev/null", data, bin, args, out_path, err_path);
  out_text = test_read_file(out_path, NULL);
  err_text = test_read_file(err_path, NULL);
  if (!out_text) out_text = strdup("");
  if (!err_text) err_text = strdup("");
  return rc;
}

static void test_validate_good_and_bad(void) {
  CHECK_EQ(run("--validate --config good_full.yaml"), 0);
  CHECK_CONTAINS(err_text, "otelc-receiver: configuration is valid (2 pipelines, 18 components)");
  CHECK_CONTAINS(err_text, "warning: good_full.yaml:139:3: processors::k8sattributes:");

  CHECK_EQ(run("--validate --config bad_unknown_key.yaml"), 1);
  CHECK_STR(err_text, "error: bad_unknown_key.yaml:7:5: processors::batch: unknown key \"timout\" (did you mean "
                      "\"timeout\"?)\notelc-receiver: invalid configuration (1 error)\n");
  CHECK_EQ(run("--validate --config bad_many.yaml"), 1);
  CHECK_CONTAINS(err_text, "otelc-receiver: invalid configuration (12 errors)\n");

  CHECK_EQ(run("--validate --config does-not-exist.yaml"), 1);
  CHECK_CONTAINS(err_text, "error: does-not-exist.yaml: cannot read config file: No such file or directory\n");

  /* The Collector's forms: `validate` subcommand, --config=file:PATH. */
  CHECK_EQ(run("validate --config=file:good_seed_prometheus_logging.yaml"), 0);
  CHECK_CONTAINS(err_text, "exporters::logging: the \"logging\" exporter is deprecated: use \"debug\"");
  CHECK_EQ(run("--validate --config=https://example.com/c.yaml"), 1);
  CHECK_CONTAINS(err_text, "unsupported config source \"https:\"");
}

static void test_print_config(void) {
  CHECK_EQ(run("--print-config"), 0);
  CHECK_CONTAINS(out_text, "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:4317\n");
  CHECK_CONTAINS(out_text, "      http:\n        endpoint: 127.0.0.1:4318\n");
  CHECK_CONTAINS(out_text, "  prometheus:\n    endpoint: 127.0.0.1:8889\n");
  CHECK_CONTAINS(out_text, "  debug:\n    verbosity: basic\n");
  CHECK_CONTAINS(out_text, "      exporters: [prometheus, debug]\n");
  CHECK_STR(err_text, "");

  CHECK_EQ(run("--print-config --config merge_base.yaml --config merge_override.yaml "
               "--set processors::batch::send_batch_size=7 --set=exporters::debug::verbosity=detailed"),
           0);
  CHECK_CONTAINS(out_text, "  batch:\n    timeout: 5s\n    send_batch_size: 7\n");
  CHECK_CONTAINS(out_text, "    verbosity: detailed\n");
  CHECK_CONTAINS(out_text, "      x-b: \"[REDACTED]\"\n");
  CHECK(!strstr(out_text, "x-b: \"3\""));

  CHECK_EQ(run("--print-config --config good_full.yaml"), 0);
  CHECK(!strstr(out_text, "very-secret-api-key") && !strstr(out_text, "the-outgoing-token"));
}

static void test_other_flags(void) {
  CHECK_EQ(run("--version"), 0);
  CHECK(!strncmp(out_text, "otelc-receiver 0.", 17));
  CHECK_EQ(run("--help"), 0);
  CHECK_CONTAINS(out_text, "usage: otelc-receiver [--config SRC]...");
  CHECK_EQ(run("--bogus"), 2);
  CHECK_CONTAINS(err_text, "otelc-receiver: unknown argument \"--bogus\" (see --help)\nusage:");
  CHECK_EQ(run("--config"), 2);
  CHECK_CONTAINS(err_text, "--config needs a value");
  CHECK_EQ(run("components"), 0);
  CHECK_CONTAINS(out_text, "exporters:\n");
  CHECK_CONTAINS(out_text, "  otlphttp ");
  /* Without --validate a valid config runs: this one names a CA file that does not exist, so starting fails
   * with a message naming the component and the file, and the exit status is 1 (this file sends its logs to
   * stdout, as JSON). */
  CHECK_EQ(run("--config good_full.yaml"), 1);
  CHECK_CONTAINS(out_text, "Cannot start the pipelines");
  CHECK_CONTAINS(out_text, "cannot load CA file /etc/otelc/backend-ca.pem");
}

int main(void) {
  const char *build = getenv("OTELC_BUILD_DIR"), *src = getenv("OTELC_SOURCE_DIR");
  snprintf(bin, sizeof bin, "%s/receiver/otelc-receiver", build ? build : ".");
  snprintf(data, sizeof data, "%s/tests/unit/receiver/testdata", src ? src : ".");
  snprintf(out_path, sizeof out_path, "%s/stdout", test_tmpdir());
  snprintf(err_path, sizeof err_path, "%s/stderr", test_tmpdir());
  if (access(bin, X_OK) != 0) {
    fprintf(stderr, "%s is not built (cmake --build <dir> --target otelc-receiver)\n", bin);
    return 1;
  }
  RUN(test_validate_good_and_bad);
  RUN(test_print_config);
  RUN(test_other_flags);
  free(out_text);
  free(err_text);
  return test_finish();
}
