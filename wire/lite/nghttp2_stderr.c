/* nghttp2_stderr.c — the one libc variable Debian's libnghttp2.a reaches directly. The archive is built as
 * position-independent *executable* code (-fPIE): every call goes through the PLT and every internal reference
 * is PC-relative, which a shared object can hold once the archive's symbols are hidden — except a PC-relative
 * reference to libc's `stderr` (in nghttp2_map_print_distance, a debugging aid nghttp2 never calls), which
 * assumes a copy relocation that only an executable gets. wire/CMakeLists.txt copies the archive with that
 * reference renamed (objcopy --redefine-sym stderr=wire_lite_nghttp2_stderr); this hidden variable, set to the
 * real stream when the library loads, is what it then points at. */
#include <stdio.h>

__attribute__((visibility("hidden"))) FILE *wire_lite_nghttp2_stderr;

__attribute__((constructor)) static void wire_lite_nghttp2_stderr_init(void) { wire_lite_nghttp2_stderr = stderr; }
