/* testcerts.h — test certificates generated with the openssl command line (Debian's openssl package):
 * a CA, a server certificate for 127.0.0.1/localhost signed by it, and a client certificate for mutual TLS. */
#ifndef OTELC_TESTCERTS_H
#define OTELC_TESTCERTS_H

typedef struct test_certs {
  char dir[512];
  char ca[600], server_cert[600], server_key[600], client_cert[600], client_key[600];
  char other_ca[600]; /* a second CA that signed nothing we use: verification against it must fail */
} test_certs;

/* Generates (once per process) into test_tmpdir()/certs; returns 0 or -1 with a message on stderr. */
int test_certs_make(test_certs *out);

#endif
