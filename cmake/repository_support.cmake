# Helpers of the repository's own programs (tests, benchmarks, examples, tools); none of
# them is installed.

# Where those programs look for a named trace, in order: the folders of the environment
# variable PRESCIENT_TRACES (':'-separated, read here at configure time for the
# command-line tests, and again at run time by the programs), then the traces shipped in
# data/traces.
set(prescient_trace_default "")
if(DEFINED ENV{PRESCIENT_TRACES})
  string(REPLACE ":" ";" prescient_trace_default "$ENV{PRESCIENT_TRACES}")
endif()
list(APPEND prescient_trace_default "${PROJECT_SOURCE_DIR}/data/traces")
set(PRESCIENT_TRACE_PATH "${prescient_trace_default}"
    CACHE STRING "Folders (a list) where tests, benchmarks and examples find traces")
list(JOIN PRESCIENT_TRACE_PATH ":" prescient_trace_path_joined)
add_library(prescient_trace_path INTERFACE)
target_include_directories(prescient_trace_path INTERFACE ${PROJECT_SOURCE_DIR}/tools)
target_compile_definitions(prescient_trace_path INTERFACE PRESCIENT_TRACE_PATH="${prescient_trace_path_joined}")

# prescient_find_trace(<var> <file>): the first folder of PRESCIENT_TRACE_PATH holding
# <file>, as a full path, or "" (for command-line tests registered at configure time).
function(prescient_find_trace var file)
  foreach(dir IN LISTS PRESCIENT_TRACE_PATH)
    if(EXISTS "${dir}/${file}")
      set(${var} "${dir}/${file}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${var} "" PARENT_SCOPE)
endfunction()

# prescient_skipped_test(<name> <file>): a test that reports itself skipped because the
# trace <file> is not on the trace path (ctest counts it as skipped, not passed).
function(prescient_skipped_test name file)
  add_test(NAME ${name} COMMAND sh -c "echo '${name}: skipped: ${file} not found in ${PRESCIENT_TRACE_PATH} (see docs/traces.md)'; exit 77")
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
endfunction()

# The simulator's replay engine (tools/sim/*.hpp), for the simulator, its tests and the
# replay benchmark.
add_library(prescient_sim_engine INTERFACE)
target_include_directories(prescient_sim_engine INTERFACE ${PROJECT_SOURCE_DIR}/tools)
target_link_libraries(prescient_sim_engine INTERFACE prescient::prescient)
