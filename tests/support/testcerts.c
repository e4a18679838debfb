/* testcerts.c — generate a throwaway PKI for TLS tests with the openssl command line (see testcerts.h). */
#include "testcerts.h"

#include <stdio.h>
#include <string.h>

#include "testlib.h"

int test_certs_make(test_certs *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->dir, sizeof c->dir, "%s/certs", test_tmpdir());
  snprintf(c->ca, sizeof c->ca, "%s/ca.pem", c->dir);
  snprintf(c->other_ca, sizeof c->other_ca, "%s/other-ca.pem", c->dir);
  snprintf(c->server_cert, sizeof c->server_cert, "%s/server.pem", c->dir);
  snprintf(c->server_key, sizeof c->server_key, "%s/server.key", c->dir);
  snprintf(c->client_cert, sizeof c->client_cert, "%s/client.pem", c->dir);
  snprintf(c->client_key, sizeof c->client_key, "%s/client.key", c->dir);
  int rc = test_sh(
      "set -e; d='%s'; mkdir -p \"$d\"; cd \"$d\"; [ -f done ] && exit 0;"
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=otelc-test-ca"
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null;"
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca"
      " 2>/dev/null;"
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null;"
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext;"
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2"
      " -extfile server.ext 2>/dev/null;"
      "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=otelc-test-client 2>/dev/null;"
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext;"
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2"
      " -extfile client.ext 2>/dev/null;"
      "touch done",
      c->dir);
  if (rc != 0) {
    fprintf(stderr, "test_certs_make: openssl failed (%d)\n", rc);
    return -1;
  }
  return 0;
}
