#include "train/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace redes {

namespace {

// fsyncs the folder holding `path`. File systems that cannot sync a folder
// (EINVAL) need not; any other failure is an error, since the rename may
// not survive a crash.
void sync_folder_of(const std::string& path, const std::string& who) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string folder = parent.empty() ? "." : parent.string();
  const int descriptor = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  REDES_CHECK(descriptor >= 0, who, ": wrote ", path, " but cannot open its folder to flush it: ",
              std::strerror(errno));
  const bool synced = ::fsync(descriptor) == 0 || errno == EINVAL;
  const std::string reason = std::strerror(errno);
  ::close(descriptor);
  REDES_CHECK(synced, who, ": wrote ", path, " but flushing its folder failed: ", reason);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& who,
                           const std::function<bool(std::FILE*)>& write) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  REDES_CHECK(file != nullptr, who, ": cannot create ", temporary, ": ", std::strerror(errno));
  errno = 0;
  bool ok = write(file);
  ok = ok && std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
  ok = std::fclose(file) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = errno != 0 ? std::strerror(errno) : "a write failed";
    std::remove(temporary.c_str());
    detail::fail(who, ": writing ", path, " failed: ", reason, " (the previous file, if any, is intact)");
  }
  // The rename is durable only once the folder's entry is on disk too.
  sync_folder_of(path, who);
}

void write_text_atomically(const std::string& path, const std::string& who, const std::string& text) {
  write_file_atomically(path, who, [&](std::FILE* file) {
    return text.empty() || std::fwrite(text.data(), 1, text.size(), file) == text.size();
  });
}

int remove_stale_temporaries(const std::string& path) {
  const std::filesystem::path target(path);
  const std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : ".";
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code error;
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const auto pid = static_cast<pid_t>(std::stol(digits));
    // kill(pid, 0) probes without signalling: ESRCH means no such process.
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (std::filesystem::remove(entry.path(), error)) ++removed;
  }
  return removed;
}

}  // namespace redes
