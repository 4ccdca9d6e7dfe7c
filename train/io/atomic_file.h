// Files that are either wholly replaced or left as they were: a temporary
// beside the target (`path`.tmp.<pid>) is written, flushed, renamed over the
// target, and the folder is flushed after the rename, so neither a crash nor
// a full disk ever leaves a half-written file in the target's place.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "core/export.h"

namespace redes {

// Writes `path` atomically; `write` fills the temporary and returns false on
// a failed write. `who` names the caller in error messages. Throws (naming
// the reason) with the previous file, if any, intact.
REDES_API void write_file_atomically(const std::string& path, const std::string& who,
                                     const std::function<bool(std::FILE*)>& write);

// The same for a file whose whole content is `text`.
REDES_API void write_text_atomically(const std::string& path, const std::string& who, const std::string& text);

// Removes the temporaries of `path` that processes killed while writing left
// behind (`path`.tmp.<pid> whose process no longer runs); returns how many.
REDES_API int remove_stale_temporaries(const std::string& path);

}  // namespace redes
