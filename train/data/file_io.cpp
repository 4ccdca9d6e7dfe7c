#include "train/data/file_io.h"

#include <cstdlib>
#include <fstream>
#include <system_error>

namespace redes::data::detail {

std::uint64_t checked_file_size(const std::filesystem::path& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) fail_file(path, "no such file");
  if (std::filesystem::is_directory(status)) fail_file(path, "is a directory, expected a file");
  if (!std::filesystem::is_regular_file(status)) fail_file(path, "is not a regular file");
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) fail_file(path, "cannot read its size (", error.message(), ")");
  if (size == 0) fail_file(path, "file is empty");
  return size;
}

std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::uint64_t size = checked_file_size(path);
  if (size > max_bytes) fail_file(path, "file is ", size, " bytes, more than the ", max_bytes, " bytes allowed");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open for reading");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  // A file that shrank between the size check and the read is a truncation.
  if (static_cast<std::uint64_t>(in.gcount()) != size) {
    fail_file(path, "truncated while reading: got ", in.gcount(), " of ", size, " bytes");
  }
  return bytes;
}

std::filesystem::path path_from_env(const char* variable, const std::filesystem::path& fallback) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') return fallback;
  return value;
}

std::string printable(const std::string& text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

}  // namespace redes::data::detail
