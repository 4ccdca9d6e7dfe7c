# Fails when LIBRARY (libredes) names libcudnn among the libraries it needs at
# load time: kernels/cudnn/loader.cpp loads cuDNN at run time instead, so
# redes starts on machines without it.
#   cmake -DREADELF=readelf -DLIBRARY=path -P check_no_cudnn_needed.cmake
execute_process(COMMAND ${READELF} -d ${LIBRARY} OUTPUT_VARIABLE dynamic RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${READELF} -d ${LIBRARY} failed (${status})")
endif()
# The check means something only if readelf listed the libraries at all.
if(NOT dynamic MATCHES "\\(NEEDED\\)[^\n]*libcudart")
  message(FATAL_ERROR "readelf listed no libcudart among ${LIBRARY}'s needed libraries:\n${dynamic}")
endif()
if(dynamic MATCHES "\\(NEEDED\\)[^\n]*(libcudnn[^]\n]*)")
  message(FATAL_ERROR "${LIBRARY} needs ${CMAKE_MATCH_1} at load time; cuDNN must be loaded at run time")
endif()
message(STATUS "${LIBRARY} does not need libcudnn at load time")
