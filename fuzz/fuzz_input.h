// The readers take paths, so each fuzz input is written to one temporary file
// per process and read back from there.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace redes::fuzz {

inline std::filesystem::path input_file(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "redes-fuzz-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) abort();
    close(fd);
    return std::filesystem::path(pattern);
  }();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  return path;
}

}  // namespace redes::fuzz
