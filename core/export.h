// REDES_API marks the symbols libredes exports; everything else is hidden
// (the library is built with -fvisibility=hidden).
#pragma once

#define REDES_API __attribute__((visibility("default")))
