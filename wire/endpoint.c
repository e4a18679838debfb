/* endpoint.c — parses the endpoint forms users write (see endpoint.h) into scheme, host, port and path.
 *
 * Accepted:  [scheme://]host[:port][/path]  with scheme http, https, dns (dns://[authority]/host:port, the
 * authority naming a DNS server is accepted and ignored: the system resolver configuration is used), and
 * unix:///abs/path or unix:/abs/path. Hosts are names (letters, digits, '-', '.', '_'),
 * IPv4 literals, or IPv6 literals in brackets ("[::1]:4317"); a bare IPv6 literal without port ("::1") is
 * accepted too. Leading and trailing whitespace is ignored (values often come from environment variables).
 *
 * Error messages quote only the part that is wrong, never the whole text: an endpoint may carry credentials
 * in a userinfo part, which is refused without being echoed. */
#include "wire/endpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#define UNIX_PATH_MAX_LEN (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool is_host_char(unsigned char c) { return isalnum(c) || c == '-' || c == '.' || c == '_'; }

/* Inside brackets: hex digits, ':' and '.', plus a zone id after '%' ("fe80::1%eth0"). */
static bool is_v6_char(unsigned char c) { return isxdigit(c) || c == ':' || c == '.'; }

static int parse_port(const char *s, size_t n, uint16_t *out, wire_err *err) {
  if (n == 0) return wire_err_set(err, WIRE_E_INVALID, "endpoint: empty port after ':'");
  if (n > 5) return wire_err_set(err, WIRE_E_INVALID, "endpoint: port \"%.*s\" is not a number from 0 to 65535",
                                 (int)(n > 16 ? 16 : n), s);
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: port \"%.*s\" is not a number from 0 to 65535", (int)n, s);
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > 65535)
    return wire_err_set(err, WIRE_E_INVALID, "endpoint: port %u out of range 0-65535", v);
  *out = (uint16_t)v;
  return 0;
}

static int set_host(wire_endpoint *out, const char *s, size_t n, wire_err *err) {
  if (n == 0) return wire_err_set(err, WIRE_E_INVALID, "endpoint: empty host");
  if (n >= sizeof out->host)
    return wire_err_set(err, WIRE_E_INVALID, "endpoint: host of %zu bytes is longer than %zu", n,
                        sizeof out->host - 1);
  memcpy(out->host, s, n);
  out->host[n] = '\0';
  return 0;
}

/* host[:port] or [v6][:port] in s[0..n). */
static int parse_hostport(const char *s, size_t n, uint16_t default_port, wire_endpoint *out, wire_err *err) {
  if (n == 0) return wire_err_set(err, WIRE_E_INVALID, "endpoint: empty host");
  if (memchr(s, '@', n))
    return wire_err_set(err, WIRE_E_INVALID, "endpoint: user information (user@host) is not supported");
  if (s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close) return wire_err_set(err, WIRE_E_INVALID, "endpoint: '[' without matching ']' in host");
    size_t hlen = (size_t)(close - s - 1);
    const char *h = s + 1;
    if (hlen == 0) return wire_err_set(err, WIRE_E_INVALID, "endpoint: empty host in brackets");
    size_t i = 0;
    for (; i < hlen && h[i] != '%'; i++)
      if (!is_v6_char((unsigned char)h[i]))
        return wire_err_set(err, WIRE_E_INVALID, "endpoint: invalid character 0x%02x in IPv6 address at offset %zu",
                            (unsigned char)h[i], i + 1);
    if (i < hlen) { /* zone id */
      if (i + 1 == hlen) return wire_err_set(err, WIRE_E_INVALID, "endpoint: empty IPv6 zone id after '%%'");
      for (size_t j = i + 1; j < hlen; j++)
        if (!is_host_char((unsigned char)h[j]))
          return wire_err_set(err, WIRE_E_INVALID, "endpoint: invalid character 0x%02x in IPv6 zone id",
                              (unsigned char)h[j]);
    }
    if (!memchr(h, ':', i)) return wire_err_set(err, WIRE_E_INVALID, "endpoint: brackets around a non-IPv6 host");
    if (set_host(out, h, hlen, err) < 0) return -1;
    const char *rest = close + 1;
    size_t rlen = n - (size_t)(rest - s);
    if (rlen == 0) {
      out->port = default_port;
      return 0;
    }
    if (rest[0] != ':')
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: unexpected character 0x%02x after ']'",
                          (unsigned char)rest[0]);
    return parse_port(rest + 1, rlen - 1, &out->port, err);
  }
  const char *colon = memchr(s, ':', n);
  if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) {
    /* Several colons and no brackets: a bare IPv6 literal, port from the default. */
    for (size_t i = 0; i < n; i++)
      if (!is_v6_char((unsigned char)s[i]))
        return wire_err_set(err, WIRE_E_INVALID,
                            "endpoint: IPv6 address with a port must be written in brackets ([::1]:4317)");
    if (set_host(out, s, n, err) < 0) return -1;
    out->port = default_port;
    return 0;
  }
  size_t hlen = colon ? (size_t)(colon - s) : n;
  for (size_t i = 0; i < hlen; i++)
    if (!is_host_char((unsigned char)s[i]))
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: invalid character 0x%02x in host at offset %zu",
                          (unsigned char)s[i], i);
  if (set_host(out, s, hlen, err) < 0) return -1;
  if (!colon) {
    out->port = default_port;
    return 0;
  }
  return parse_port(colon + 1, n - hlen - 1, &out->port, err);
}

static int set_path(wire_endpoint *out, const char *s, size_t n, wire_err *err) {
  if (n >= sizeof out->path)
    return wire_err_set(err, WIRE_E_INVALID, "endpoint: path of %zu bytes is longer than %zu", n,
                        sizeof out->path - 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f)
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: invalid character 0x%02x in path at offset %zu", c, i);
  }
  memcpy(out->path, s, n);
  out->path[n] = '\0';
  return 0;
}

static int parse_unix(const char *s, size_t n, wire_endpoint *out, wire_err *err) {
  /* s follows "unix:": "///abs" or "/abs". "//host/..." (a non-empty authority) is refused. A relative path
   * ("unix:x.sock") is not accepted: "unix:4317" means host "unix", port 4317, and cwd-relative socket paths
   * are fragile. */
  if (n >= 2 && s[0] == '/' && s[1] == '/') {
    if (n < 3 || s[2] != '/')
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: unix:// takes an absolute path (unix:///run/x.sock)");
    s += 2;
    n -= 2;
  }
  if (n == 0) return wire_err_set(err, WIRE_E_INVALID, "endpoint: empty Unix socket path");
  if (n > UNIX_PATH_MAX_LEN)
    return wire_err_set(err, WIRE_E_INVALID, "endpoint: Unix socket path of %zu bytes is longer than %zu", n,
                        (size_t)UNIX_PATH_MAX_LEN);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: invalid character 0x%02x in Unix socket path",
                          (unsigned char)s[i]);
  memcpy(out->host, s, n);
  out->host[n] = '\0';
  out->is_unix = true;
  return 0;
}

int wire_endpoint_parse(const char *text, uint16_t default_port, wire_endpoint *out, wire_err *err) {
  memset(out, 0, sizeof *out);
  if (!text) return wire_err_set(err, WIRE_E_INVALID, "endpoint: empty");
  const char *s = text;
  size_t n = strlen(text);
  while (n && is_space(*s)) s++, n--;
  while (n && is_space(s[n - 1])) n--;
  if (n == 0) return wire_err_set(err, WIRE_E_INVALID, "endpoint: empty");

  /* Scheme: letters before "://" (or "unix:"). "localhost:4317" has no "//" after the colon: no scheme. */
  size_t i = 0;
  while (i < n && isalpha((unsigned char)s[i])) i++;
  bool has_scheme = i > 0 && i < n && s[i] == ':' && ((i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/') ||
                                                      (i == 4 && strncasecmp(s, "unix", 4) == 0 && i + 1 < n &&
                                                       s[i + 1] == '/'));
  if (has_scheme) {
    if (i >= sizeof out->scheme)
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: unsupported scheme \"%.*s\" (http, https, dns, unix)",
                          (int)(i > 16 ? 16 : i), s);
    for (size_t k = 0; k < i; k++) out->scheme[k] = (char)tolower((unsigned char)s[k]);
    out->scheme[i] = '\0';
    if (strcmp(out->scheme, "unix") == 0) return parse_unix(s + i + 1, n - i - 1, out, err);
    if (strcmp(out->scheme, "http") != 0 && strcmp(out->scheme, "https") != 0 && strcmp(out->scheme, "dns") != 0)
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: unsupported scheme \"%s\" (http, https, dns, unix)",
                          out->scheme);
    out->tls = strcmp(out->scheme, "https") == 0;
    s += i + 3;
    n -= i + 3;
    if (strcmp(out->scheme, "dns") == 0) {
      /* dns:[//authority]/host:port — skip the authority (a DNS server we do not use). */
      const char *slash = memchr(s, '/', n);
      if (!slash) return wire_err_set(err, WIRE_E_INVALID, "endpoint: dns:// needs a '/' before the host (dns:///host:port)");
      n -= (size_t)(slash + 1 - s);
      s = slash + 1;
    }
  }
  const char *slash = memchr(s, '/', n);
  size_t hp_len = slash ? (size_t)(slash - s) : n;
  if (slash) {
    if (strcmp(out->scheme, "dns") == 0)
      return wire_err_set(err, WIRE_E_INVALID, "endpoint: dns:/// target must not have a path");
    if (set_path(out, slash, n - hp_len, err) < 0) return -1;
  }
  return parse_hostport(s, hp_len, default_port, out, err);
}

void wire_endpoint_authority(const wire_endpoint *ep, char *out, size_t outlen) {
  if (!outlen) return;
  if (ep->is_unix)
    snprintf(out, outlen, "localhost");
  else if (strchr(ep->host, ':'))
    snprintf(out, outlen, "[%s]:%u", ep->host, (unsigned)ep->port);
  else
    snprintf(out, outlen, "%s:%u", ep->host, (unsigned)ep->port);
}
