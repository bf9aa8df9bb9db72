# SPDX-License-Identifier: MIT
# Warning flags from STYLE.md §9 and the optional sanitizer / fuzzer instrumentation.
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wformat=2 -Wundef -Wvla -fno-omit-frame-pointer)
if(TG_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(TG_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
