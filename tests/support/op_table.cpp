#include "support/op_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "kernels/kernel_settings.h"
#include "kernels/registry.h"
#include "kernels/select.h"
#include "support/forced_impl.h"
#include "support/test_support.h"

namespace redes::testing {
namespace {

// The computation's output and its inputs' gradients for the weighted sum
// of the output with `weights` (float64 values, moved to the run's device
// and dtype).
std::vector<Tensor> outputs_and_gradients(const OpCase& c, const std::vector<Tensor>& values, const Tensor& weights,
                                          DType dtype, Device device) {
  std::vector<Tensor> inputs;
  for (const Tensor& v : values) {
    Tensor x = v.to(dtype).to(device);
    if (c.strided_inputs && x.dim() >= 2) x = x.transpose(-1, -2).contiguous().transpose(-1, -2);
    inputs.push_back(x.detach().requires_grad_(true));
  }
  const Tensor out = c.run(inputs);
  (out * weights.to(dtype).to(device)).sum().backward();
  std::vector<Tensor> results{out.to(Device::cpu()).to(kFloat64)};
  for (const Tensor& x : inputs) results.push_back(x.grad().to(Device::cpu()).to(kFloat64));
  return results;
}

// Whether `name`'s kernels run under the vendor setting.
KernelImpl setting_for(const std::string& name) {
  return is_vendor_implementation(name) ? KernelImpl::Vendor : KernelImpl::Hand;
}

// (op, name) for each op of `c` that has `name` for this device and dtype.
std::vector<std::pair<std::string, std::string>> ops_with(const OpCase& c, const std::string& name,
                                                          DeviceType device, DType dtype) {
  std::vector<std::pair<std::string, std::string>> found;
  for (const std::string& op : c.ops) {
    for (const KernelEntry* entry : KernelRegistry::instance().candidates(op, device, dtype)) {
      if (entry->name == name) found.emplace_back(op, name);
    }
  }
  return found;
}

// A name registered for `op` that no entry of (device, dtype) has: forcing it
// makes every call of `op` there fail. Empty when there is none (the
// registry refuses to force an unknown name).
std::string foreign_name(const std::string& op, DeviceType device, DType dtype) {
  std::set<std::string> own;
  for (const KernelEntry* entry : KernelRegistry::instance().candidates(op, device, dtype)) own.insert(entry->name);
  for (const KernelEntry* entry : KernelRegistry::instance().all()) {
    if (entry->op == op && own.count(entry->name) == 0) return entry->name;
  }
  return "";
}

// (op, its foreign name) for each of `ops` that has one.
std::vector<std::pair<std::string, std::string>> foreign_names(const std::vector<std::string>& ops, DeviceType device,
                                                               DType dtype) {
  std::vector<std::pair<std::string, std::string>> found;
  for (const std::string& op : ops) {
    if (std::string name = foreign_name(op, device, dtype); !name.empty()) found.emplace_back(op, std::move(name));
  }
  return found;
}

}  // namespace

void check_op_table(const std::vector<OpCase>& table) {
  std::vector<Device> devices{Device::cpu()};
  if (!unusable_reason(Device::cuda(0))) devices.push_back(Device::cuda(0));
  std::map<std::string, std::set<std::string>> ran;      // "device dtype op" -> implementations that ran
  std::map<std::string, std::set<std::string>> listed;   // the same key -> implementations registered
  std::uint64_t seed = 7000;
  for (const OpCase& c : table) {
    SCOPED_TRACE(c.name);
    std::vector<Tensor> values;
    for (const Shape& shape : c.inputs) values.push_back(random_tensor(shape, seed++, {kFloat64}));
    std::vector<Tensor> reference;
    Tensor weights;
    {
      const ImplScope hand(KernelImpl::Hand);
      NoGradGuard no_grad;
      std::vector<Tensor> plain;
      for (const Tensor& v : values) plain.push_back(v);
      weights = random_tensor(c.run(plain).shape(), seed++, {kFloat64});
    }
    {
      const ImplScope hand(KernelImpl::Hand);
      reference = outputs_and_gradients(c, values, weights, kFloat64, Device::cpu());
    }
    if (c.gradcheck) {
      std::vector<Tensor> small;
      for (const Tensor& v : values) small.push_back(v.clone());
      EXPECT_TRUE(::redes::testing::gradcheck(c.run, small)) << "the float64 reference's gradients";
    }
    for (const Device& device : devices) {
      for (DType dtype : {kFloat64, kFloat32}) {
        const std::string where = device.str() + " " + dtype_name(dtype);
        SCOPED_TRACE(where);
        const std::string key = where + " " + c.ops[0];
        for (const KernelEntry* entry : KernelRegistry::instance().candidates(c.ops[0], device.type, dtype)) {
          const std::string name = entry->name;
          SCOPED_TRACE(name);
          listed[key].insert(name);
          const ImplScope setting(setting_for(name));
          if (const std::string foreign = foreign_name(c.ops[0], device.type, dtype); !foreign.empty()) {
            // The row's first kernel op runs under this setting: forcing a
            // name this device and dtype do not have must fail.
            const ForcedImpl elsewhere({{c.ops[0], foreign}});
            const ForcedImpl no_fallback(foreign_names(c.fallback_ops, device.type, dtype));
            EXPECT_THROW(outputs_and_gradients(c, values, weights, dtype, device), Error)
                << c.ops[0] << " did not run under " << kernel_impl_name(setting_for(name));
          }
          const ForcedImpl forced(ops_with(c, name, device.type, dtype));
          const ForcedImpl no_fallback(foreign_names(c.fallback_ops, device.type, dtype));
          std::vector<Tensor> actual;
          try {
            actual = outputs_and_gradients(c, values, weights, dtype, device);
          } catch (const Error& e) {
            // Refusing these arguments (oneDNN below its size, cuDNN without
            // ceil_mode) is allowed; any other failure is not.
            EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
            continue;
          }
          ran[key].insert(name);
          const double tolerance = dtype == kFloat64 ? 1e-10 : c.float32_tolerance;
          ASSERT_EQ(actual.size(), reference.size());
          for (std::size_t i = 0; i < actual.size(); ++i) {
            EXPECT_TRUE(all_close(actual[i], host_values(reference[i]), tolerance, tolerance))
                << (i == 0 ? std::string("output") : "gradient of input " + std::to_string(i - 1));
          }
        }
      }
    }
  }
  for (const auto& [key, names] : listed) {
    std::string line;
    for (const std::string& name : names) {
      EXPECT_TRUE(ran[key].count(name) > 0) << name << " (" << key << ") refused every row of the table";
      line += " " + name;
    }
    std::printf("op table: %s:%s\n", key.c_str(), line.c_str());  // what ran, in the test's log
  }
}

}  // namespace redes::testing
