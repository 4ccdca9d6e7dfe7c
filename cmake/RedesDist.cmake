# Multi-process training: MPI (Open MPI from Debian: libopenmpi-dev) for CPU
# tensors and the launcher's environment, NCCL for CUDA tensors. Both are
# optional (REDES_MPI, REDES_NCCL = AUTO|ON|OFF); without MPI redes trains in
# one process and refuses a multi-process launch with a clear error. Sets
# REDES_HAVE_MPI and REDES_HAVE_NCCL.
set(REDES_MPI AUTO CACHE STRING "Build the MPI backend of redes::dist: AUTO (if found), ON or OFF")
set(REDES_NCCL AUTO CACHE STRING "Build the NCCL backend of redes::dist (needs MPI and real CUDA): AUTO, ON or OFF")
set_property(CACHE REDES_MPI PROPERTY STRINGS AUTO ON OFF)
set_property(CACHE REDES_NCCL PROPERTY STRINGS AUTO ON OFF)

set(REDES_HAVE_MPI OFF)
if(NOT REDES_MPI STREQUAL "OFF")
  # MPI's C API, called from C++ (the project enables no C compiler); the
  # deprecated C++ bindings are left out.
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(REDES_HAVE_MPI ON)
  elseif(REDES_MPI STREQUAL "ON")
    message(FATAL_ERROR "REDES_MPI=ON but MPI was not found (Debian: apt-get install libopenmpi-dev openmpi-bin)")
  endif()
endif()

# NCCL ships with the CUDA toolkit here; its unique id travels over MPI, so
# it needs both. The emulated CUDA device has no NCCL: CUDA tensors there go
# through host copies and MPI.
set(REDES_HAVE_NCCL OFF)
if(NOT REDES_NCCL STREQUAL "OFF" AND REDES_HAVE_MPI AND REDES_HAVE_CUDA AND NOT REDES_CUDA_EMULATION)
  find_path(REDES_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(REDES_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(REDES_NCCL_INCLUDE_DIR AND REDES_NCCL_LIBRARY)
    set(REDES_HAVE_NCCL ON)
  endif()
endif()
if(REDES_NCCL STREQUAL "ON" AND NOT REDES_HAVE_NCCL)
  message(FATAL_ERROR "REDES_NCCL=ON but NCCL, MPI or a real CUDA build is missing")
endif()

# The environment of the tests that start ranks with mpirun: Open MPI may run
# as root and put two ranks on however few cores there are, each rank has
# one OpenMP thread, and a job whose ranks parted ways ends after a minute.
# In sanitized builds, Open MPI's own allocations that live until exit are
# not reported as leaks: its components stay loaded (no dlclose) and stacks
# are unwound fully, so the suppressions can name its libraries (the
# sanitizer presets' other options repeated, since this replaces them).
set(REDES_MPIRUN_TEST_ENVIRONMENT
    "OMP_WAIT_POLICY=passive;OMP_NUM_THREADS=1;REDES_DIST_TIMEOUT=60"
    "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1"
    "OMPI_MCA_mca_base_component_disable_dlclose=1"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0"
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/support/lsan_open_mpi.supp")
