// kernels/cudnn/loader.cpp: which libraries pass as redes' cuDNN, and why the
// others do not. libredes loads cuDNN at run time, so each refusal is a
// machine where the hand-written kernels serve instead of one where redes
// cannot start.
#include <filesystem>
#include <string>

#include "kernels/backend_status.h"
#include "support/test_support.h"

namespace redes {
namespace {

// The fake libraries are built next to the test programs (and travel with
// them in the GPU bundle).
std::string beside_this_program(const std::string& name) {
  return (std::filesystem::canonical("/proc/self/exe").parent_path() / name).string();
}

::testing::AssertionResult mentions(const std::string& text, const std::string& fragment) {
  if (text.find(fragment) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not mention \"" << fragment << "\"";
}

TEST(CudnnLoader, RefusesWhatIsNotAUsableCudnn) {
  if (!build_info().cudnn) {
    EXPECT_EQ(cudnn_library_problem("libcudnn.so.9"), "this build has no cuDNN");
    return;
  }
  EXPECT_TRUE(
      mentions(cudnn_library_problem("/nonexistent/libcudnn.so.9"), "could not load /nonexistent/libcudnn.so.9: "));
  // A real library that is not cuDNN (libredes links zlib, so it is here).
  EXPECT_TRUE(
      mentions(cudnn_library_problem("libz.so.1"), "libz.so.1 is not a cuDNN library (it has no cudnnGetVersion)"));
  const std::string old = beside_this_program("libfake_cudnn_8.so");
  const std::string old_problem = cudnn_library_problem(old);
  EXPECT_TRUE(mentions(old_problem, old + " is cuDNN 8.9.7; this build needs cuDNN 9 (it was built against 9."));
  const std::string partial = beside_this_program("libfake_cudnn_9.so");
  EXPECT_TRUE(mentions(cudnn_library_problem(partial),
                       partial + " (cuDNN 9.99.0) lacks cudnnGetErrorString, which redes calls"));
}

// The cuDNN the build was made against loads with every entry point, and
// the process's own cuDNN (the one `redes info` reports) is loaded.
TEST(CudnnLoader, AcceptsTheInstalledCudnn) {
  if (!build_info().cudnn) GTEST_SKIP() << "this build has no cuDNN";
  EXPECT_EQ(cudnn_library_problem("libcudnn.so.9"), "");
  const std::string version = build_info().cudnn_version;
  EXPECT_EQ(version.rfind("9.", 0), 0u) << "the process's cuDNN version: \"" << version << "\"";
  const std::string path = build_info().cudnn_path;
  EXPECT_EQ(path.rfind('/', 0), 0u) << "an absolute path, wherever the search found it: \"" << path << "\"";
  EXPECT_NE(path.find("libcudnn.so.9"), std::string::npos) << path;
  EXPECT_TRUE(cudnn_unusable_reason().find("could not load") == std::string::npos) << cudnn_unusable_reason();
}

}  // namespace
}  // namespace redes
