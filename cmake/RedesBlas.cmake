# The CPU GEMM goes through OpenBLAS from Debian. The OpenMP build
# (libopenblas-openmp-dev) is preferred so BLAS threads and ours share one pool.
find_path(REDES_CBLAS_INCLUDE_DIR cblas.h
  HINTS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/openblas
        /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu)
find_library(REDES_OPENBLAS_LIBRARY NAMES openblas
  HINTS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/aarch64-linux-gnu/openblas-openmp)
if(NOT REDES_CBLAS_INCLUDE_DIR OR NOT REDES_OPENBLAS_LIBRARY)
  message(FATAL_ERROR "redes needs OpenBLAS for the CPU GEMM: apt-get install libopenblas-openmp-dev")
endif()
add_library(redes_blas INTERFACE)
target_include_directories(redes_blas SYSTEM INTERFACE ${REDES_CBLAS_INCLUDE_DIR})
target_link_libraries(redes_blas INTERFACE ${REDES_OPENBLAS_LIBRARY})
