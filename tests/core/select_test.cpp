// Kernel selection (kernels/select.h): the hand/cudnn/auto setting, the
// auto-selection key, timing fake candidates, caching the winner, and
// dropping a candidate whose output disagrees. Runs on the CPU: the fake
// TuningDevice runs candidates on host memory and reports chosen times.
#include "kernels/select.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "kernels/backend_status.h"
#include "kernels/kernel_settings.h"
#include "kernels/params.h"
#include "kernels/registry.h"
#include "support/forced_impl.h"
#include "support/test_support.h"

namespace redes {
namespace {

// Fake kernels: each writes its own constant into every element of a float output.
template <int Value>
void write_constant(const void*, const TensorArg* args, int, const ExecContext&) {
  auto* out = static_cast<float*>(args[0].data);
  for (std::int64_t i = 0; i < args[0].numel(); ++i) out[i] = static_cast<float>(Value);
}

void throw_error(const void*, const TensorArg*, int, const ExecContext&) { throw Error("fake kernel failure"); }

std::string fake_params_key(const void* params) { return std::to_string(*static_cast<const int*>(params)); }

KernelEntry fake(const std::string& name, KernelFn run) {
  KernelEntry entry;
  entry.op = "fake_op";
  entry.device = DeviceType::CUDA;
  entry.name = name;
  entry.run = run;
  entry.params_key = &fake_params_key;
  return entry;
}

// Runs candidates on host memory; each name's time is set by the test.
class FakeTuningDevice final : public TuningDevice {
 public:
  std::map<std::string, double> milliseconds;
  std::map<std::string, int> runs;

  double run_timed(const KernelEntry& entry, const KernelCall& call, const ExecContext& ctx) override {
    entry.run(call.params, call.args, call.nargs, ctx);
    ++runs[entry.name];
    return milliseconds[entry.name];
  }
  std::vector<double> read(const TensorArg& arg) override {
    const auto* values = static_cast<const float*>(arg.data);
    return std::vector<double>(values, values + arg.numel());
  }
  std::string signature(const ExecContext&) override { return gpu; }
  std::string gpu = "fake GPU driver 1";
};

TensorArg host_arg(std::vector<float>& storage, std::int64_t rows, std::int64_t cols) {
  TensorArg arg;
  arg.data = storage.data();
  arg.dtype = DType::Float32;
  arg.ndim = 2;
  arg.sizes[0] = rows;
  arg.sizes[1] = cols;
  arg.strides[0] = cols;
  arg.strides[1] = 1;
  return arg;
}

class SelectTest : public ::testing::Test {
 protected:
  SelectTest() {
    selector.set_timed_outputs("fake_op", 1);
    hand = fake("cuda.hand", &write_constant<1>);
    cudnn = fake("cudnn", &write_constant<1>);
    output = std::vector<float>(6, 0.0f);
    arg = host_arg(output, 2, 3);
  }

  const KernelEntry& choose(const std::vector<const KernelEntry*>& candidates, int params = 7) {
    params_value = params;
    const KernelCall call{"fake_op", Device::cuda(0), DType::Float32, &params_value, &arg, 1};
    return selector.choose(call, candidates, &device, &ctx);
  }

  KernelSelector selector;
  FakeTuningDevice device;
  ExecContext ctx{Device::cuda(0), nullptr, nullptr};
  KernelEntry hand, cudnn;
  std::vector<float> output;
  TensorArg arg;
  int params_value = 0;
};

TEST(KernelSettings, ParsesTheThreeImplementationsAndRejectsOthers) {
  EXPECT_EQ(parse_kernel_impl("hand"), KernelImpl::Hand);
  EXPECT_EQ(parse_kernel_impl("vendor"), KernelImpl::Vendor);
  EXPECT_EQ(parse_kernel_impl("cudnn"), KernelImpl::Vendor);
  EXPECT_EQ(parse_kernel_impl("auto"), KernelImpl::Auto);
  EXPECT_STREQ(kernel_impl_name(KernelImpl::Vendor), "vendor");
  try {
    parse_kernel_impl("fast", "--impl");
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "--impl: expected hand, vendor (or cudnn) or auto, got \"fast\"");
  }
}

TEST(KernelSettings, SettersChangeTheSettings) {
  const bool det = deterministic(), tf32 = allow_tf32();
  set_deterministic(!det);
  set_allow_tf32(!tf32);
  EXPECT_EQ(deterministic(), !det);
  EXPECT_EQ(allow_tf32(), !tf32);
  set_deterministic(det);
  set_allow_tf32(tf32);
}

TEST_F(SelectTest, HandAndCudnnPickByNameAndFallBack) {
  const std::vector<const KernelEntry*> both{&hand, &cudnn};
  EXPECT_EQ(preferred_entry(KernelImpl::Hand, both), &hand);
  EXPECT_EQ(preferred_entry(KernelImpl::Cudnn, both), &cudnn);
  EXPECT_EQ(preferred_entry(KernelImpl::Hand, {&cudnn}), &cudnn);
  EXPECT_EQ(preferred_entry(KernelImpl::Cudnn, {&hand}), &hand);
  EXPECT_EQ(preferred_entry(KernelImpl::Auto, both), &hand);
  EXPECT_TRUE(is_cudnn_implementation("cudnn.v8"));
  EXPECT_FALSE(is_cudnn_implementation("cudnnish"));
  EXPECT_TRUE(is_vendor_implementation("onednn"));
  EXPECT_TRUE(is_vendor_implementation("cudnn"));
  EXPECT_FALSE(is_vendor_implementation("cpu.blas"));

  testing::ImplScope scope(KernelImpl::Cudnn);
  EXPECT_EQ(&choose(both), &cudnn);
  set_kernel_impl(KernelImpl::Hand);
  EXPECT_EQ(&choose(both), &hand);
  EXPECT_TRUE(device.runs.empty()) << "hand and cudnn never time candidates";
}

TEST_F(SelectTest, AutoPicksTheFastestAndCachesItPerKey) {
  testing::ImplScope scope(KernelImpl::Auto);
  device.milliseconds = {{"cuda.hand", 2.0}, {"cudnn", 0.5}};
  EXPECT_EQ(&choose({&hand, &cudnn}), &cudnn);
  // One checked run and three timed runs each.
  EXPECT_EQ(device.runs["cuda.hand"], 4);
  EXPECT_EQ(device.runs["cudnn"], 4);

  // The same key is answered from the cache, even if times would now differ.
  device.milliseconds = {{"cuda.hand", 0.1}, {"cudnn", 5.0}};
  EXPECT_EQ(&choose({&hand, &cudnn}), &cudnn);
  EXPECT_EQ(device.runs["cuda.hand"], 4);

  // Other params are another key, timed afresh.
  EXPECT_EQ(&choose({&hand, &cudnn}, 8), &hand);
  EXPECT_EQ(device.runs["cuda.hand"], 8);
  ASSERT_EQ(selector.tuned().size(), 2u);
  EXPECT_EQ(selector.tuned()[0].second, "cudnn");
  EXPECT_EQ(selector.tuned()[1].second, "cuda.hand");
}

TEST_F(SelectTest, AutoDropsACandidateThatDisagreesAndSaysSoOnce) {
  testing::ImplScope scope(KernelImpl::Auto);
  const KernelEntry wrong = fake("cudnn", &write_constant<2>);
  device.milliseconds = {{"cuda.hand", 2.0}, {"cudnn", 0.5}};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(&choose({&hand, &wrong}), &hand) << "the faster candidate disagrees, so it must not win";
  EXPECT_EQ(&choose({&hand, &wrong}, 9), &hand);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find("fake_op implementation \"cudnn\" disagrees with \"cuda.hand\" on output 0"),
            std::string::npos)
      << printed;
  EXPECT_EQ(printed.find("disagrees"), printed.rfind("disagrees")) << "reported more than once:\n" << printed;
}

TEST_F(SelectTest, AutoToleratesRoundingDifferences) {
  testing::ImplScope scope(KernelImpl::Auto);
  // 1000 vs 1000.5: 5e-4 relative, within float32's tolerance for rival
  // summation orders; 1000 vs 1002 is not.
  const KernelEntry big = fake("cuda.hand", &write_constant<1000>);
  const KernelEntry close = fake("cudnn", [](const void*, const TensorArg* args, int, const ExecContext&) {
    auto* out = static_cast<float*>(args[0].data);
    for (std::int64_t i = 0; i < args[0].numel(); ++i) out[i] = 1000.5f;
  });
  const KernelEntry far = fake("cudnn.far", &write_constant<1002>);
  device.milliseconds = {{"cuda.hand", 2.0}, {"cudnn", 1.0}, {"cudnn.far", 0.1}};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(&choose({&big, &close, &far}), &close);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("\"cudnn.far\" disagrees"), std::string::npos);
}

TEST_F(SelectTest, AutoDropsACandidateThatThrows) {
  testing::ImplScope scope(KernelImpl::Auto);
  const KernelEntry broken = fake("cudnn", &throw_error);
  device.milliseconds = {{"cuda.hand", 2.0}, {"cudnn", 0.5}};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(&choose({&hand, &broken}), &hand);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("\"cudnn\" failed (fake kernel failure)"), std::string::npos);
}

TEST_F(SelectTest, AutoTimesOnlyOpsThatOverwriteTheirOutputsAndHaveAKey) {
  testing::ImplScope scope(KernelImpl::Auto);
  device.milliseconds = {{"cuda.hand", 2.0}, {"cudnn", 0.5}};
  selector.set_timed_outputs("fake_op", 0);
  EXPECT_EQ(&choose({&hand, &cudnn}), &hand) << "an op that accumulates into its output is never rerun";
  selector.set_timed_outputs("fake_op", 1);
  KernelEntry keyless = hand;
  keyless.params_key = nullptr;
  EXPECT_EQ(&choose({&keyless, &cudnn}), &keyless) << "params without a key are never timed";
  EXPECT_TRUE(device.runs.empty());
  // Without a tuning device or context (e.g. the CPU), auto is priority order.
  const KernelCall call{"fake_op", Device::cuda(0), DType::Float32, &params_value, &arg, 1};
  EXPECT_EQ(&selector.choose(call, {&hand, &cudnn}, nullptr, &ctx), &hand);
  EXPECT_EQ(&selector.choose(call, {&hand, &cudnn}, &device, nullptr), &hand);
}

TEST_F(SelectTest, AutoReusesChoicesFromItsFileUnderTheSameSignature) {
  testing::ImplScope scope(KernelImpl::Auto);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("redes_select_cache_" + std::to_string(::getpid()) + ".tsv")).string();
  std::remove(path.c_str());
  device.milliseconds = {{"cuda.hand", 2.0}, {"cudnn", 0.5}};
  selector.set_cache_file(path);
  EXPECT_EQ(&choose({&hand, &cudnn}), &cudnn);
  {
    std::ifstream file(path);
    std::string line;
    ASSERT_TRUE(std::getline(file, line)) << "nothing written to " << path;
    EXPECT_EQ(line.rfind("fake GPU driver 1\tfake_op cuda:0 float32", 0), 0u) << line;
    EXPECT_EQ(line.substr(line.rfind('\t') + 1), "cudnn");
  }

  // A new process (selector) on the same GPU and versions: no timing.
  KernelSelector later;
  later.set_timed_outputs("fake_op", 1);
  later.set_cache_file(path);
  FakeTuningDevice same;
  same.milliseconds = {{"cuda.hand", 0.1}, {"cudnn", 9.0}};
  const KernelCall call{"fake_op", Device::cuda(0), DType::Float32, &params_value, &arg, 1};
  EXPECT_EQ(&later.choose(call, {&hand, &cudnn}, &same, &ctx), &cudnn);
  EXPECT_TRUE(same.runs.empty());

  // Another driver: the file's choice does not apply, so it times again.
  KernelSelector elsewhere;
  elsewhere.set_timed_outputs("fake_op", 1);
  elsewhere.set_cache_file(path);
  FakeTuningDevice other;
  other.gpu = "fake GPU driver 2";
  other.milliseconds = {{"cuda.hand", 0.1}, {"cudnn", 9.0}};
  EXPECT_EQ(&elsewhere.choose(call, {&hand, &cudnn}, &other, &ctx), &hand);
  EXPECT_EQ(other.runs["cuda.hand"], 4);
  std::remove(path.c_str());
}

// pick_fastest serves choices that are not one kernel call (nn::LSTM's two
// paths): each candidate is a closure that runs and times itself.
struct FakeWay {
  double ms = 0;
  std::vector<double> output;
  bool fails = false;
  int runs = 0;
};

std::vector<TimedCandidate> as_candidates(std::map<std::string, FakeWay>& ways, const std::vector<std::string>& order) {
  std::vector<TimedCandidate> candidates;
  for (const std::string& name : order) {
    FakeWay& way = ways[name];
    candidates.push_back({name,
                          [&way] {
                            ++way.runs;
                            if (way.fails) throw Error("fake way failure");
                            return way.ms;
                          },
                          [&way] { return std::vector<std::vector<double>>{way.output}; }});
  }
  return candidates;
}

TEST(PickFastest, TheFastestOfThoseThatAgreeWithTheFirst) {
  std::map<std::string, FakeWay> ways{{"steps", {3.0, {1.0, 2.0}}},
                                      {"sequence", {1.0, {1.0, 2.0 + 1e-7}}},
                                      {"wrong", {0.1, {1.0, 2.5}}},
                                      {"broken", {0.01, {1.0, 2.0}, true}}};
  std::map<std::string, std::string> rejected;
  const auto reject = [&](const std::string& name, const std::string& why) { rejected[name] = why; };
  const auto best = pick_fastest(as_candidates(ways, {"steps", "sequence", "wrong", "broken"}), DType::Float32, reject);
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(*best, 1u) << "sequence agrees to rounding and is the fastest left";
  EXPECT_EQ(ways["steps"].runs, 4) << "one checked run, three timed";
  EXPECT_EQ(ways["sequence"].runs, 4);
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_NE(rejected["wrong"].find("disagrees with \"steps\" on output 0 (element 1 differs by 0.5"), std::string::npos)
      << rejected["wrong"];
  EXPECT_NE(rejected["broken"].find("failed (fake way failure)"), std::string::npos) << rejected["broken"];
}

TEST(PickFastest, AFailingReferenceLeavesTheNextAsReferenceAndNoneLeftIsNothing) {
  std::map<std::string, FakeWay> ways{{"broken", {0.1, {}, true}}, {"slow", {5.0, {4.0}}}, {"fast", {2.0, {4.0}}}};
  const auto ignore = [](const std::string&, const std::string&) {};
  EXPECT_EQ(pick_fastest(as_candidates(ways, {"broken", "slow", "fast"}), DType::Float64, ignore), 2u);
  std::map<std::string, FakeWay> none{{"a", {1.0, {}, true}}, {"b", {1.0, {}, true}}};
  EXPECT_FALSE(pick_fastest(as_candidates(none, {"a", "b"}), DType::Float32, ignore).has_value());
}

TEST_F(SelectTest, ChoicesStoredByKeyAreFoundAgainAndKeptInTheFile) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("redes_select_store_" + std::to_string(::getpid()) + ".tsv")).string();
  std::remove(path.c_str());
  selector.set_cache_file(path);
  auto [missing, signature] = selector.lookup("lstm key", device, ctx);
  EXPECT_FALSE(missing.has_value());
  EXPECT_EQ(signature, "fake GPU driver 1");
  selector.store("lstm key", "cudnn", signature);
  EXPECT_EQ(selector.lookup("lstm key", device, ctx).first, std::optional<std::string>("cudnn"));
  KernelSelector later;
  later.set_cache_file(path);
  EXPECT_EQ(later.lookup("lstm key", device, ctx).first, std::optional<std::string>("cudnn"));
  const auto tuned = later.tuned();
  ASSERT_EQ(tuned.size(), 1u);
  EXPECT_EQ(tuned[0], std::make_pair(std::string("lstm key"), std::string("cudnn")));
  std::remove(path.c_str());
}

// supports() answers what select() would find, without throwing: an op,
// device and dtype with a supporting entry, none, or only a forced one that
// does not serve the device.
TEST(SelectRegistry, SupportsSaysWhetherSelectWouldFindAnImplementation) {
  KernelRegistry& registry = KernelRegistry::instance();
  AvgPool2dParams params;
  params.shape = {1, 1, 4, 4, 2, 2};
  params.window.kernel_height = params.window.kernel_width = 2;
  params.window.stride_height = params.window.stride_width = 2;
  std::vector<float> out_storage(4), in_storage(16);
  TensorArg args[2];
  args[0] = host_arg(out_storage, 2, 2);
  args[1] = host_arg(in_storage, 4, 4);
  for (TensorArg& arg : args) {  // as (1, 1, H, W)
    arg.ndim = 4;
    arg.sizes[2] = arg.sizes[0];
    arg.sizes[3] = arg.sizes[1];
    arg.strides[2] = arg.strides[0];
    arg.strides[3] = 1;
    arg.sizes[0] = arg.sizes[1] = 1;
    arg.strides[0] = arg.strides[1] = arg.sizes[2] * arg.sizes[3];
  }
  EXPECT_TRUE(registry.supports("avg_pool2d", Device::cpu(), kFloat32, &params, args, 2));
  EXPECT_FALSE(registry.supports("avg_pool2d", Device::cpu(), kInt32, &params, args, 2));
  EXPECT_FALSE(registry.supports("no_such_op", Device::cpu(), kFloat32, &params, args, 2));
  EXPECT_FALSE(registry.supports("max_pool2d_values", Device::cpu(), kFloat64, &params, args, 2))
      << "on the CPU only oneDNN implements it, in float32 and bfloat16";
  if (build_info().cuda) {
    registry.force("avg_pool2d", "cuda.hand");
    EXPECT_FALSE(registry.supports("avg_pool2d", Device::cpu(), kFloat32, &params, args, 2));
    registry.force("avg_pool2d", "");
  }
}

// Without a tuning device for the context's device (the CPU here) the first
// way is taken without running any.
TEST(SelectRegistry, AlternativesWithoutATuningDeviceTakeTheFirst) {
  std::map<std::string, FakeWay> ways{{"steps", {3.0, {1.0}}}, {"sequence", {1.0, {1.0}}}};
  const ExecContext cpu{Device::cpu(), nullptr, nullptr};
  EXPECT_EQ(KernelRegistry::instance().choose_alternative("fake_alternative", "key", DType::Float32,
                                                          as_candidates(ways, {"steps", "sequence"}), cpu),
            "steps");
  EXPECT_EQ(ways["steps"].runs + ways["sequence"].runs, 0);
}

TEST_F(SelectTest, KeyNamesOpDeviceDtypeSettingsParamsShapesAndStrides) {
  params_value = 7;
  const KernelCall call{"fake_op", Device::cuda(0), DType::Float32, &params_value, &arg, 1};
  const std::string key = selection_key(hand, call);
  EXPECT_NE(key.find("fake_op cuda:0 float32"), std::string::npos) << key;
  EXPECT_NE(key.find("params=7"), std::string::npos) << key;
  EXPECT_NE(key.find("float32(2,3:3,1)"), std::string::npos) << key;

  TensorArg transposed = arg;
  std::swap(transposed.strides[0], transposed.strides[1]);
  EXPECT_NE(selection_key(hand, {"fake_op", Device::cuda(0), DType::Float32, &params_value, &transposed, 1}), key);
  EXPECT_NE(selection_key(hand, {"fake_op", Device::cuda(1), DType::Float32, &params_value, &arg, 1}), key);
  const bool det = deterministic();
  set_deterministic(!det);
  EXPECT_NE(selection_key(hand, call), key) << "deterministic runs may pick other algorithms";
  set_deterministic(det);
  EXPECT_EQ(selection_key(hand, call), key);
  KernelEntry keyless = hand;
  keyless.params_key = nullptr;
  EXPECT_EQ(selection_key(keyless, call), "");
}

TEST(ParamsKey, CoversEveryFieldOfTheTimedOps) {
  Conv2dForwardParams a{}, b{};
  b.geometry.window.dilation_width = 2;
  EXPECT_NE(params_key_of<Conv2dForwardParams>(&a), params_key_of<Conv2dForwardParams>(&b));
  AvgPool2dParams p{}, q{};
  q.count_include_pad = !p.count_include_pad;
  EXPECT_NE(params_key_of<AvgPool2dParams>(&p), params_key_of<AvgPool2dParams>(&q));
  EXPECT_NE(params_key_function<AvgPool2dBackwardParams>(), nullptr);
  EXPECT_NE(params_key_function<Conv2dBackwardWeightParams>(), nullptr);
}

// The setting steers KernelRegistry::select itself, not a side path.
TEST(SelectRegistry, TheSettingChoosesAmongRegisteredImplementations) {
  KernelRegistry& registry = KernelRegistry::instance();
  static bool added = false;
  if (!added) {
    for (const char* name : {"hand", "cudnn"}) {
      KernelEntry entry;
      entry.op = "select_test_op";
      entry.name = name;
      entry.run = &write_constant<0>;
      registry.add(entry);
    }
    added = true;
  }
  const FillParams params{};
  TensorArg out;
  testing::ImplScope scope(KernelImpl::Cudnn);
  EXPECT_EQ(registry.select("select_test_op", Device::cpu(), kFloat32, &params, &out, 1).name, "cudnn");
  set_kernel_impl(KernelImpl::Hand);
  EXPECT_EQ(registry.select("select_test_op", Device::cpu(), kFloat32, &params, &out, 1).name, "hand");
  registry.force("select_test_op", "cudnn");
  EXPECT_EQ(registry.select("select_test_op", Device::cpu(), kFloat32, &params, &out, 1).name, "cudnn")
      << "forcing wins over the setting";
  registry.force("select_test_op", "");
}

// cuDNN fails soft: where it cannot run (no GPU, no driver, a missing cuDNN
// sub-library) the reason is known and the cuDNN entries stay registered but
// refuse every call, so the hand kernels run.
TEST(CudnnStatus, SaysWhyCudnnCannotRun) {
  const std::string reason = cudnn_unusable_reason();
  if (!build_info().cudnn) {
    EXPECT_EQ(reason, "this build has no cuDNN");
    return;
  }
  for (const char* op :
       {"conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "avg_pool2d", "avg_pool2d_backward"}) {
    bool found = false;
    for (const KernelEntry* entry : KernelRegistry::instance().candidates(op, DeviceType::CUDA, kFloat32)) {
      found = found || entry->name == "cudnn";
    }
    EXPECT_TRUE(found) << op;
  }
  if (testing::unusable_reason(Device::cuda(0))) {
    EXPECT_NE(reason.find("cudnnCreate failed"), std::string::npos) << reason;
    Conv2dForwardParams params{};
    params.geometry = {1, 1, 3, 3, 1, 1, 1, 1, {}};
    TensorArg args[3];
    for (const KernelEntry* entry :
         KernelRegistry::instance().candidates("conv2d_forward", DeviceType::CUDA, kFloat32)) {
      if (entry->name == "cudnn") {
        EXPECT_FALSE(entry->supports(&params, args, 3));
      }
    }
  } else {
    EXPECT_EQ(reason, "") << "a GPU is present, so cuDNN should be usable";
  }
}

}  // namespace
}  // namespace redes
