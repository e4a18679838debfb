/* test_extensions.c — bearertokenauth on its own: server-side checks (missing header, wrong scheme, wrong token,
 * one of several tokens, custom header and scheme), client-side header, a token file re-read when it changes
 * (and kept when it becomes unreadable), and errors that never quote a token. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver/config/components/extensions.h"
#include "receiver/extensions/bearertokenauth.h"
#include "testlib.h"

static void h_log(component_host *h, log_level l, const char *c, const char *m, ...) {
  (void)h, (void)l, (void)c, (void)m;
}
static component_host host = {.log = h_log};

static component_auth *make(const bearertokenauth_config *cfg, void **state, wire_err *err) {
  component_create_args a = {.id = "bearertokenauth", .kind = COMPONENT_EXTENSION, .config = cfg, .host = &host};
  if (bearertokenauth_extension_hooks.create(&a, state, err) < 0) return NULL;
  return *state;
}

static int check_header(component_auth *a, const char *name, const char *value, wire_err *err) {
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  if (name) wire_headers_add_cstr(&h, name, value, NULL);
  const char *subject;
  int rc = a->authenticate(a, &h, &subject, err);
  wire_headers_free(&h);
  return rc;
}

static void server_side(void) {
  char *tokens[] = {"second-token", "third-token"};
  bearertokenauth_config cfg = {.scheme = "Bearer", .header = "Authorization", .token = "first-token",
                                .tokens = {tokens, 2}};
  void *st;
  wire_err err = {0};
  component_auth *a = make(&cfg, &st, &err);
  CHECK(a != NULL);
  if (!a) return;
  CHECK_EQ(check_header(a, NULL, NULL, &err), -1);
  CHECK_CONTAINS(err.msg, "missing");
  CHECK_EQ(check_header(a, "authorization", "", &err), -1);
  CHECK_EQ(check_header(a, "authorization", "Bearer first-tokeN", &err), -1);
  CHECK(strstr(err.msg, "first") == NULL && strstr(err.msg, "tokeN") == NULL);
  CHECK_EQ(check_header(a, "authorization", "Basic first-token", &err), -1);
  CHECK_EQ(check_header(a, "authorization", "Bearer first-token ", &err), -1);
  CHECK_EQ(check_header(a, "authorization", "first-token", &err), -1);
  CHECK_EQ(check_header(a, "authorization", "Bearer first-token", &err), 0);
  CHECK_EQ(check_header(a, "Authorization", "Bearer third-token", &err), 0);
  CHECK_EQ(check_header(a, "authorization", "Bearer second-token", &err), 0);
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  CHECK(a->client_headers(a, &h, &err) == 0);
  CHECK_STR(wire_headers_get(&h, "authorization"), "Bearer first-token");
  wire_headers_free(&h);
  bearertokenauth_extension_hooks.destroy(st);

  bearertokenauth_config custom = {.scheme = "", .header = "X-Api-Key", .token = "k1"};
  a = make(&custom, &st, &err);
  CHECK(a != NULL);
  if (!a) return;
  CHECK_EQ(check_header(a, "x-api-key", "k1", &err), 0);
  CHECK_EQ(check_header(a, "authorization", "k1", &err), -1);
  wire_headers_init(&h, 0, 0);
  CHECK(a->client_headers(a, &h, &err) == 0);
  CHECK_STR(wire_headers_get(&h, "x-api-key"), "k1");
  wire_headers_free(&h);
  bearertokenauth_extension_hooks.destroy(st);
}

static void write_file(const char *path, const char *text) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  fputs(text, f);
  fclose(f);
  rename(tmp, path); /* a new inode, as Kubernetes secret updates do */
}

static void token_file_reloads(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/token", test_tmpdir());
  write_file(path, "file-token-1\n");
  bearertokenauth_config cfg = {.scheme = "Bearer", .header = "Authorization", .filename = path};
  void *st;
  wire_err err = {0};
  component_auth *a = make(&cfg, &st, &err);
  CHECK_MSG(a != NULL, "%s", err.msg);
  if (!a) return;
  CHECK_EQ(check_header(a, "authorization", "Bearer file-token-1", &err), 0);
  write_file(path, "  file-token-2  \n");
  usleep(1100 * 1000); /* the file is looked at most once a second */
  CHECK_EQ(check_header(a, "authorization", "Bearer file-token-2", &err), 0);
  CHECK_EQ(check_header(a, "authorization", "Bearer file-token-1", &err), -1);
  unlink(path); /* unreadable: the last token stays */
  usleep(1100 * 1000);
  CHECK_EQ(check_header(a, "authorization", "Bearer file-token-2", &err), 0);
  bearertokenauth_extension_hooks.destroy(st);

  /* a missing file at creation is an error naming the file, not its content */
  a = make(&cfg, &st, &err);
  CHECK(a == NULL);
  CHECK_CONTAINS(err.msg, "token file");
}

int main(void) {
  RUN(server_side);
  RUN(token_file_reloads);
  return test_finish();
}
