// REDES_FAST_TLS marks a small thread_local read by every op (grad mode,
// autocast). A shared library's thread_locals are otherwise reached through a
// call to __tls_get_addr on each access; the initial-exec model reads them at
// a fixed offset from the thread pointer. It takes a few bytes of the static
// TLS space glibc keeps in reserve, which also serves a libredes loaded with
// dlopen. Only for trivially destructible variables of a few bytes.
#pragma once

#if defined(__GNUC__) && defined(__ELF__)
#define REDES_FAST_TLS __attribute__((tls_model("initial-exec")))
#else
#define REDES_FAST_TLS
#endif
