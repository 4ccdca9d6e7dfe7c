# oneDNN, the CPU twin of cuDNN: optional (REDES_ONEDNN=AUTO|ON|OFF). Without
# it the hand-written CPU kernels serve every call. Sets REDES_HAVE_ONEDNN.
set(REDES_HAVE_ONEDNN OFF)
if(NOT REDES_ONEDNN STREQUAL "OFF")
  find_package(dnnl 2.6 CONFIG QUIET)
  if(dnnl_FOUND)
    set(REDES_HAVE_ONEDNN ON)
  elseif(REDES_ONEDNN STREQUAL "ON")
    message(FATAL_ERROR "REDES_ONEDNN=ON but oneDNN 2.6 or newer was not found (Debian: apt-get install libdnnl-dev)")
  endif()
endif()
