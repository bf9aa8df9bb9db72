# SPDX-License-Identifier: MIT
# Until src/tsdb/ has its own sources, tg_tsdb is a stand-in holding only the matcher
# helpers of src/tsdb/query.h (tests/support/tsdb_matcher_standin.c), so that promql/
# links. Once the store's tg_module(tsdb ...) line exists this file does nothing and can
# be deleted with the stand-in.
if(NOT TARGET tg_tsdb)
  if(NOT TARGET PkgConfig::PCRE2)
    pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
  endif()
  add_library(tg_tsdb STATIC ${CMAKE_SOURCE_DIR}/tests/support/tsdb_matcher_standin.c)
  target_link_libraries(tg_tsdb PUBLIC tg_core PkgConfig::PCRE2)
endif()
