// Internal helpers the readers share: reading a whole file under a size limit,
// and errors that always start with the file's name. Not installed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace redes::data::detail {

// Throws redes::Error "<path>: <parts...>".
template <class... Parts>
[[noreturn]] void fail_file(const std::filesystem::path& path, const Parts&... parts) {
  ::redes::detail::fail(path.string(), ": ", parts...);
}

// The size of a regular file, refusing a missing path, a directory and an
// empty file, each with a message naming the file.
std::uint64_t checked_file_size(const std::filesystem::path& path);

// The whole file as bytes; refuses files over max_bytes before allocating, so
// a hostile or mistaken path (a disk image, /dev/zero) cannot exhaust memory.
std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

// The path in environment variable `variable` when it is set and not empty,
// else `fallback`.
std::filesystem::path path_from_env(const char* variable, const std::filesystem::path& fallback);

// `text` with every byte outside printable ASCII written as \xNN, so a
// message quoting a corrupt file (a JSON parser's "last read" excerpt, say)
// never sends raw bytes to the terminal.
std::string printable(const std::string& text);

}  // namespace redes::data::detail
