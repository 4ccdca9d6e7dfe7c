#include "support/test_support.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace redes::testing {

std::vector<Device> compiled_devices() {
  std::vector<Device> devices{Device::cpu()};
  if (build_info().cuda) devices.push_back(Device::cuda(0));
  return devices;
}

std::optional<std::string> unusable_reason(Device device) {
  if (device.is_cpu() || cuda::is_available()) return std::nullopt;
  return "CUDA device " + device.str() + " unavailable: " + cuda::unavailable_reason();
}

bool cuda_required() {
  const char* value = std::getenv("REDES_REQUIRE_CUDA");
  return value != nullptr && std::string(value) == "1";
}

std::string device_test_name(const ::testing::TestParamInfo<Device>& info) {
  return info.param.is_cpu() ? "cpu" : "cuda" + std::to_string(info.param.index);
}

std::vector<LowPrecisionCase> low_precision_cases() {
  std::vector<LowPrecisionCase> cases;
  for (const Device& device : compiled_devices()) {
    cases.push_back({device, kBFloat16});
    cases.push_back({device, kFloat16});
  }
  return cases;
}

std::string low_precision_case_name(const ::testing::TestParamInfo<LowPrecisionCase>& info) {
  return device_test_name({info.param.device, info.index}) + "_" + dtype_name(info.param.dtype);
}

void expect_error(const std::function<void()>& action, const std::vector<std::string>& fragments) {
  try {
    action();
    ADD_FAILURE() << "expected a redes::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const std::string& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message << "\nmissing: " << fragment;
    }
  }
}

void expect_error(const std::function<void()>& action, const char* fragment) {
  expect_error(action, std::vector<std::string>{fragment});
}

std::string fixture_path(const std::string& name) {
  const char* dir = std::getenv("REDES_FIXTURE_DIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : REDES_FIXTURE_SOURCE_DIR) + "/" + name;
}

std::vector<double> host_values(const Tensor& tensor) {
  NoGradGuard no_grad;
  return tensor.detach().to(Device::cpu()).to(kFloat64).contiguous().to_vector<double>();
}

::testing::AssertionResult all_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                     double atol, double rtol) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << "size mismatch: " << actual.size() << " values, expected "
                                         << expected.size();
  }
  std::ostringstream mismatches;
  std::size_t count = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double tolerance = atol + rtol * std::fabs(expected[i]);
    const bool both_nan = std::isnan(actual[i]) && std::isnan(expected[i]);
    if (both_nan || std::fabs(actual[i] - expected[i]) <= tolerance) continue;
    if (++count <= 5) {
      mismatches << "\n  [" << i << "] got " << actual[i] << ", expected " << expected[i] << " (|diff| "
                 << std::fabs(actual[i] - expected[i]) << " > " << tolerance << ")";
    }
  }
  if (count == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << count << " of " << actual.size() << " values differ (atol " << atol
                                       << ", rtol " << rtol << "):" << mismatches.str();
}

::testing::AssertionResult all_close(const Tensor& actual, const std::vector<double>& expected, double atol,
                                     double rtol) {
  return all_close(host_values(actual), expected, atol, rtol);
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << ", expected "
                                         << shape_str(expected.shape());
  }
  return all_close(host_values(actual), host_values(expected), atol, rtol);
}

Tensor random_tensor(const Shape& shape, std::uint64_t seed, const TensorOptions& options, double low,
                     double high) {
  Generator generator(seed);
  TensorOptions host = options;
  host.device = Device::cpu();
  host.requires_grad = false;
  Tensor values = uniform(shape, low, high, host, &generator).to(options.device);
  if (options.requires_grad) values.requires_grad_(true);
  return values;
}

::testing::AssertionResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                     const std::vector<Tensor>& inputs, double eps, double atol, double rtol) {
  for (const Tensor& input : inputs) {
    if (input.dtype() != kFloat64) return ::testing::AssertionFailure() << "gradcheck needs float64 inputs";
  }
  const GradcheckResult result = redes::gradcheck(f, inputs, {.eps = eps, .atol = atol, .rtol = rtol});
  if (result) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << result.message;
}

}  // namespace redes::testing
