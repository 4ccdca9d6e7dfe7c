# Warnings for our own C++ and CUDA sources (never for third-party headers).
function(redes_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                              -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                              -Wconversion -Wno-sign-conversion -Wdouble-promotion -Wformat=2>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
  # `#pragma omp simd` is a hint: clang reports each loop it cannot vectorise,
  # and under the sanitizers (the fuzz preset) the instrumented loads stop
  # most of them. Not a defect of our code, so not a warning.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-pass-failed>)
  endif()
  if(REDES_WERROR)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Werror>
      $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
endfunction()
