# The one library: libredes.so with a SONAME, hidden visibility and REDES_API
# marking what is exported. core/ and kernels/ add their sources to it.
add_library(redes SHARED)
add_library(redes::redes ALIAS redes)
set_target_properties(redes PROPERTIES
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  EXPORT_NAME redes
  # Installed libredes finds its private CUDA/BLAS libraries where it was linked against them.
  INSTALL_RPATH_USE_LINK_PATH TRUE)
target_compile_definitions(redes PRIVATE REDES_BUILDING_LIBRARY)
target_include_directories(redes PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}>
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/core/include>
  $<INSTALL_INTERFACE:include/redes>)
target_link_libraries(redes PRIVATE redes_blas)
# CPU kernels split large loops with OpenMP; Debian's OpenMP OpenBLAS shares
# the same libgomp pool (core/threading.h).
find_package(OpenMP REQUIRED COMPONENTS CXX)
target_link_libraries(redes PRIVATE OpenMP::OpenMP_CXX)
# CPU kernels rely on the vectoriser for the portable x86-64 baseline (no
# -march=native). GCC's -O2 cost model ("very cheap") skips every loop whose
# trip count is unknown or whose pointers need a run-time overlap check, which
# is every elementwise kernel; "dynamic" is -O3's model.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(redes PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fvect-cost-model=dynamic>)
endif()
redes_set_warnings(redes)
# Calls between libredes' own exported functions (Tensor::shape() from inside
# an op) bind inside the library instead of going through the PLT: nothing
# outside is meant to interpose them, and the per-op overhead is made of such
# calls.
target_link_options(redes PRIVATE LINKER:-Bsymbolic-functions)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # The same promise to the compiler, so that it may also inline them.
  target_compile_options(redes PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fno-semantic-interposition>)
endif()
# Every symbol libredes uses must come from a library it names: a stray direct
# cuDNN call fails here instead of silently needing libcudnn at load time.
# (Sanitized builds resolve the sanitizer runtime from the executable.)
if(NOT REDES_SANITIZE)
  target_link_options(redes PRIVATE LINKER:--no-undefined)
endif()
if(REDES_CUDA_EMULATION)
  # libredes_cuda_emulation stands in for libcudart and libcublas; its
  # include folder stands in for the toolkit's headers.
  add_subdirectory(core/cuda_emulation)
  target_link_libraries(redes PRIVATE redes_cuda_emulation)
  target_compile_definitions(redes PRIVATE REDES_WITH_CUDA=1 REDES_CUDA_EMULATION=1)
elseif(REDES_HAVE_CUDA)
  target_link_libraries(redes PRIVATE CUDA::cudart CUDA::cublas)
  target_compile_definitions(redes PRIVATE REDES_WITH_CUDA=1)
endif()
if(REDES_HAVE_CUDNN)
  # cuDNN's headers only: kernels/cudnn/loader.cpp loads libcudnn.so.9 at run
  # time, so libredes starts where cuDNN is missing and the hand kernels serve.
  target_include_directories(redes SYSTEM PRIVATE ${REDES_CUDNN_INCLUDE_DIR})
  target_link_libraries(redes PRIVATE ${CMAKE_DL_LIBS})
  # Only the registry needs to know: keeping the define off the other sources
  # lets ccache share their objects between the cuDNN and no-cuDNN builds.
  set_source_files_properties(kernels/registry.cpp PROPERTIES COMPILE_DEFINITIONS REDES_WITH_CUDNN=1)
endif()

if(REDES_HAVE_ONEDNN)
  target_link_libraries(redes PRIVATE DNNL::dnnl)
  # As with cuDNN, only the registry and the build facts need to know.
  set_property(SOURCE kernels/registry.cpp APPEND PROPERTY COMPILE_DEFINITIONS REDES_WITH_ONEDNN=1)
endif()

# Build facts the public API reports (redes::build_info()).
target_include_directories(redes PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
set(REDES_HAVE_CUDA_01 0)
set(REDES_HAVE_CUDNN_01 0)
set(REDES_CUDA_EMULATION_01 0)
set(REDES_HAVE_ONEDNN_01 0)
if(REDES_HAVE_ONEDNN)
  set(REDES_HAVE_ONEDNN_01 1)
endif()
if(REDES_CUDA_EMULATION)
  set(REDES_CUDA_EMULATION_01 1)
endif()
if(REDES_HAVE_CUDA)
  set(REDES_HAVE_CUDA_01 1)
endif()
if(REDES_HAVE_CUDNN)
  set(REDES_HAVE_CUDNN_01 1)
endif()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/build_config.h.in
               ${CMAKE_CURRENT_BINARY_DIR}/generated/redes_build_config.h @ONLY)
