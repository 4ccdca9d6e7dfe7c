#include "train/output_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace redes::train {

namespace {

// The pid the holder wrote, or "unknown" while it is still writing it.
std::string holder_of(int descriptor) {
  char text[32] = {};
  const ssize_t length = ::pread(descriptor, text, sizeof text - 1, 0);
  std::string pid = length > 0 ? std::string(text, static_cast<std::size_t>(length)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos ? "unknown" : pid;
}

}  // namespace

OutputLock::OutputLock(const std::string& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  REDES_CHECK(!error, "cannot create the output folder ", folder, ": ", error.message());
  path_ = (std::filesystem::path(folder) / ".redes.lock").string();
  descriptor_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REDES_CHECK(descriptor_ >= 0, "cannot open the lock file ", path_, ": ", std::strerror(errno));
  if (::flock(descriptor_, LOCK_EX | LOCK_NB) != 0) {
    const int reason = errno;
    const std::string holder = reason == EWOULDBLOCK ? holder_of(descriptor_) : std::string();
    ::close(descriptor_);
    descriptor_ = -1;
    REDES_CHECK(reason != EWOULDBLOCK, "another run (pid ", holder, ") is writing to ", folder,
                "; wait for it to finish or choose another output folder (--out)");
    detail::fail("cannot lock the output folder ", folder, " (", path_, "): ", std::strerror(reason));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // Best effort: the pid only makes the message of a second run clearer.
  if (::ftruncate(descriptor_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(descriptor_, pid.data(), pid.size(), 0);
  }
}

OutputLock::~OutputLock() {
  if (descriptor_ >= 0) ::close(descriptor_);  // closing releases the lock
}

}  // namespace redes::train
