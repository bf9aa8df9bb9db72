# SPDX-License-Identifier: MIT
# Test registration helpers. Unit tests: one executable per tests/unit/<mod>/test_<file>.c.
# Integration tests: scripts under tests/integration/ run against the built binary.
# Fuzz targets: libFuzzer binaries with TG_FUZZ, corpus replay executables otherwise.

# tg_add_test(<source> <libs...>): builds and registers a unit test labelled `unit`.
function(tg_add_test src)
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(dir ${src} DIRECTORY)
  get_filename_component(mod ${dir} NAME)
  set(target unit_${mod}_${name})
  add_executable(${target} ${src} ${CMAKE_SOURCE_DIR}/tests/support/tg_test.c)
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
  target_link_libraries(${target} PRIVATE ${ARGN})
  add_test(NAME ${target} COMMAND ${target})
  set_tests_properties(${target} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

# tg_add_script_test(<name> <script> [TIMEOUT s]): an integration test run by python3/bash
# with TG_BIN pointing at the freshly built binary.
function(tg_add_script_test name script)
  cmake_parse_arguments(A "" "TIMEOUT" "" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  if(script MATCHES "\\.py$")
    set(runner python3)
  else()
    set(runner bash)
  endif()
  add_test(NAME ${name} COMMAND ${runner} ${script})
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "TG_BIN=$<TARGET_FILE:tailguard>;TG_SRC=${CMAKE_SOURCE_DIR}")
endfunction()
