# REDES_SANITIZE=address,undefined builds everything (library, tests, examples)
# with those sanitizers. CUDA device code is never instrumented; host code in
# .cu files is, through -Xcompiler.
if(REDES_SANITIZE)
  set(_redes_san_flags -fsanitize=${REDES_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${_redes_san_flags}>")
  add_link_options(${_redes_san_flags})
endif()
