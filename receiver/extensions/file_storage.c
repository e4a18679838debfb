/* file_storage.c — the file_storage extension (see file_storage.h). */
#include "receiver/extensions/file_storage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "receiver/config/components/extensions.h"

/* mkdir -p with `mode` for the directories it creates. */
static int make_dirs(const char *path, mode_t mode, wire_err *err) {
  size_t n = strlen(path);
  char *p = malloc(n + 1);
  if (!p) return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
  memcpy(p, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char c = p[i];
    p[i] = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST) {
      int e = errno;
      free(p);
      return wire_err_set(err, WIRE_E_IO, "cannot create directory %s: %s", path, strerror(e));
    }
    p[i] = c;
  }
  free(p);
  return 0;
}

static int create(const component_create_args *args, void **state, wire_err *err) {
  const file_storage_config *cfg = args->config;
  if (!cfg->directory || !*cfg->directory) return wire_err_set(err, WIRE_E_INVALID, "directory is required");
  if (cfg->create_directory) {
    mode_t mode = 0750;
    if (cfg->directory_permissions && *cfg->directory_permissions)
      mode = (mode_t)strtoul(cfg->directory_permissions, NULL, 8) & 07777;
    if (make_dirs(cfg->directory, mode, err) < 0) return -1;
  }
  struct stat st;
  if (stat(cfg->directory, &st) < 0)
    return wire_err_set(err, WIRE_E_IO, "directory %s: %s (set create_directory: true to create it)", cfg->directory,
                        strerror(errno));
  if (!S_ISDIR(st.st_mode)) return wire_err_set(err, WIRE_E_INVALID, "%s is not a directory", cfg->directory);
  if (access(cfg->directory, W_OK | X_OK) < 0)
    return wire_err_set(err, WIRE_E_IO, "directory %s is not writable: %s", cfg->directory, strerror(errno));
  *state = (void *)cfg;
  return 0;
}

static void destroy(void *state) { (void)state; }

const component_hooks file_storage_extension_hooks = {
    .create = create,
    .destroy = destroy,
};
