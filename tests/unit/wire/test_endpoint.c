/* test_endpoint.c — every endpoint form of endpoint.h, the authority, and clear errors for bad input. */
#include <string.h>

#include "testlib.h"
#include "wire/endpoint.h"

typedef struct good_case {
  const char *text;
  const char *scheme, *host;
  unsigned port;
  const char *path;
  bool tls, is_unix;
  const char *authority;
} good_case;

static void accepted_forms(void) {
  static const good_case cases[] = {
      {"http://collector:4318/v1/metrics", "http", "collector", 4318, "/v1/metrics", false, false, "collector:4318"},
      {"https://otel.example.com", "https", "otel.example.com", 4317, "", true, false, "otel.example.com:4317"},
      {"HTTPS://Otel.Example.com:443/", "https", "Otel.Example.com", 443, "/", true, false, "Otel.Example.com:443"},
      {"localhost:4317", "", "localhost", 4317, "", false, false, "localhost:4317"},
      {"collector", "", "collector", 4317, "", false, false, "collector:4317"},
      {"10.0.0.5:9090", "", "10.0.0.5", 9090, "", false, false, "10.0.0.5:9090"},
      {"[::1]:4317", "", "::1", 4317, "", false, false, "[::1]:4317"},
      {"[2001:db8::1]", "", "2001:db8::1", 4317, "", false, false, "[2001:db8::1]:4317"},
      {"[fe80::1%eth0]:80", "", "fe80::1%eth0", 80, "", false, false, "[fe80::1%eth0]:80"},
      {"::1", "", "::1", 4317, "", false, false, "[::1]:4317"},
      {"http://[::1]:8080/x?y=1", "http", "::1", 8080, "/x?y=1", false, false, "[::1]:8080"},
      {"dns:///collector.ns.svc:4317", "dns", "collector.ns.svc", 4317, "", false, false, "collector.ns.svc:4317"},
      {"dns://8.8.8.8/collector:4317", "dns", "collector", 4317, "", false, false, "collector:4317"},
      {"dns:///my_host", "dns", "my_host", 4317, "", false, false, "my_host:4317"},
      {"unix:///run/otelc.sock", "unix", "/run/otelc.sock", 0, "", false, true, "localhost"},
      {"unix:/run/otelc.sock", "unix", "/run/otelc.sock", 0, "", false, true, "localhost"},
      {"unix:4317", "", "unix", 4317, "", false, false, "unix:4317"}, /* a host named unix, not a socket */
      {"  http://h:1  \n", "http", "h", 1, "", false, false, "h:1"},
      {"h:0", "", "h", 0, "", false, false, "h:0"},
      {"h:65535", "", "h", 65535, "", false, false, "h:65535"},
      {"h:00080", "", "h", 80, "", false, false, "h:80"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const good_case *c = &cases[i];
    wire_endpoint ep;
    wire_err err = {0};
    int rc = wire_endpoint_parse(c->text, 4317, &ep, &err);
    CHECK_MSG(rc == 0, "\"%s\": %s", c->text, err.msg);
    if (rc != 0) continue;
    CHECK_STR(ep.scheme, c->scheme);
    CHECK_STR(ep.host, c->host);
    if (!c->is_unix) CHECK_EQ(ep.port, c->port);
    CHECK_STR(ep.path, c->path);
    CHECK_EQ(ep.tls, c->tls);
    CHECK_EQ(ep.is_unix, c->is_unix);
    char auth[300];
    wire_endpoint_authority(&ep, auth, sizeof auth);
    CHECK_STR(auth, c->authority);
  }
}

typedef struct bad_case {
  const char *text;
  const char *says; /* part of the message */
} bad_case;

static void rejected_forms(void) {
  static const bad_case cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"host:", "empty port"},
      {"host:99999", "out of range"},
      {"host:123456", "not a number"},
      {"host:80x", "not a number"},
      {"host:-1", "not a number"},
      {":4317", "empty host"},
      {"http://", "empty host"},
      {"http://:80/x", "empty host"},
      {"https:///path", "empty host"},
      {"ftp://host:21", "unsupported scheme"},
      {"verylongscheme://host", "unsupported scheme"},
      {"http://user:secret@host:80", "user information"},
      {"ho st:80", "invalid character"},
      {"host\x01:80", "invalid character"},
      {"[::1", "without matching"},
      {"[]:80", "empty host"},
      {"[::1]x", "after ']'"},
      {"[::1]:", "empty port"},
      {"[host]:80", "invalid character"},
      {"[1.2.3.4]:80", "non-IPv6"},
      {"[fe80::1%]:80", "zone"},
      {"::1:zz", "brackets"},
      {"dns:", "empty port"},
      {"dns://authority", "needs a '/'"},
      {"dns:///host:1/path", "must not have a path"},
      {"http://h:1/a b", "invalid character"},
      {"unix://", "absolute path"},
      {"unix://host/x.sock", "absolute path"},
      {"unix:", "empty port"},
      {"unix:relative.sock", "not a number"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wire_endpoint ep;
    wire_err err = {0};
    int rc = wire_endpoint_parse(cases[i].text, 4317, &ep, &err);
    CHECK_MSG(rc == -1, "accepted \"%s\"", cases[i].text);
    CHECK_EQ(err.code, WIRE_E_INVALID);
    CHECK_MSG(strstr(err.msg, cases[i].says) && strstr(err.msg, "endpoint"), "\"%s\": message \"%s\"",
              cases[i].text, err.msg);
  }
  /* credentials are never echoed */
  wire_err err = {0};
  wire_endpoint ep;
  wire_endpoint_parse("http://user:secret@host:80", 4317, &ep, &err);
  CHECK(strstr(err.msg, "secret") == NULL);
  CHECK_EQ(wire_endpoint_parse(NULL, 1, &ep, &err), -1);
}

static void length_limits(void) {
  char text[2100];
  wire_endpoint ep;
  wire_err err = {0};
  memset(text, 'a', 300);
  strcpy(text + 300, ":80");
  CHECK_EQ(wire_endpoint_parse(text, 1, &ep, &err), -1);
  CHECK_CONTAINS(err.msg, "longer than");
  memcpy(text, "unix:///", 8);
  memset(text + 8, 'p', 200);
  text[208] = '\0';
  CHECK_EQ(wire_endpoint_parse(text, 1, &ep, &err), -1);
  CHECK_CONTAINS(err.msg, "Unix socket path");
  strcpy(text, "http://h:1/");
  memset(text + 11, 'x', 2000);
  text[2011] = '\0';
  CHECK_EQ(wire_endpoint_parse(text, 1, &ep, &err), -1);
  CHECK_CONTAINS(err.msg, "path");
  /* the longest host that fits */
  memset(text, 'h', 255);
  text[255] = '\0';
  CHECK_EQ(wire_endpoint_parse(text, 7, &ep, &err), 0);
  CHECK_EQ(strlen(ep.host), 255);
  char auth[8];
  wire_endpoint_authority(&ep, auth, sizeof auth); /* truncated, terminated */
  CHECK_EQ(strlen(auth), 7);
}

int main(void) {
  RUN(accepted_forms);
  RUN(rejected_forms);
  RUN(length_limits);
  return test_finish();
}
