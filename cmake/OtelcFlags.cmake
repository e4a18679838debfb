# Warning, sanitizer and fuzzing flags for everything otelc compiles (not for generated protobuf-c code).
set(OTELC_WARNINGS -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
    -Wno-unused-parameter -Wformat=2 -Wvla)
if(OTELC_WERROR)
  list(APPEND OTELC_WARNINGS -Werror)
endif()

if(OTELC_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
elseif(OTELC_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=thread)
elseif(NOT OTELC_SANITIZE STREQUAL "")
  message(FATAL_ERROR "OTELC_SANITIZE must be '', 'address' or 'thread'")
endif()

if(OTELC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "OTELC_FUZZ needs clang: cmake -DCMAKE_C_COMPILER=clang -DOTELC_FUZZ=ON")
  endif()
  # Instrument all otelc code for coverage; the fuzz targets add -fsanitize=fuzzer at link time.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# otelc_target_defaults(<target>): warnings and the include root for one of our own targets.
function(otelc_target_defaults tgt)
  target_compile_options(${tgt} PRIVATE ${OTELC_WARNINGS})
endfunction()
