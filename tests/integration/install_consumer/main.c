/* main.c — a program outside the otelc tree that uses the installed SDK (test_install.sh builds it with
 * pkg-config and with find_package(otelc), shared and static). */
#include <otelc/otelc.h>
#include <stdio.h>
int main(void) {
  otelc_meter_provider *mp;
  if (otelc_meter_provider_create(NULL, &mp) != OTELC_OK) return 1;
  otelc_instrument *c = otelc_counter_u64(otelc_meter_get(mp, "consumer", "1.0", NULL), "consumer.runs", NULL);
  otelc_add_u64(c, 1, NULL, 0);
  otelc_meter_provider_shutdown(mp, 100);
  otelc_meter_provider_free(mp);
  puts("ok");
  return 0;
}
