// The snippets of docs/guide.md, "Tensors", with checks of what the text says.
// [guide:includes]
#include <redes.h>
using namespace redes;
// [guide:end]

#include <cstdint>
#include <iostream>
#include <vector>

#include "guide_check.h"

using guide::check;
using guide::near;

namespace {

void creation() {
  // [guide:tensors_create]
  Tensor a = zeros({2, 3});                      // float32 on the CPU
  Tensor b = ones({2, 3}, {.dtype = kFloat64});  // TensorOptions: dtype, device, requires_grad
  Tensor c = full({2, 2}, 7.0);
  Tensor d = arange(5);                          // 0, 1, 2, 3, 4 as int64
  Tensor e = tensor({1.0, 2.0, 3.0});            // float32, shape (3)
  Tensor f = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Generator generator(42);
  Tensor g = randn({2, 3}, {}, &generator);      // the same numbers for the same seed
  std::cout << f.shape()[1] << " " << f.dtype() << " " << d.sum().item() << "\n";  // 3 float32 10
  std::vector<float> values = f.to_vector<float>();
  // [guide:end]
  check(a.shape() == Shape{2, 3} && a.dtype() == kFloat32 && a.device() == Device::cpu(), "zeros: float32 on the CPU");
  check(b.dtype() == kFloat64, "ones with .dtype = kFloat64");
  check(c.sum().item() == 28.0, "full");
  check(d.dtype() == kInt64 && d.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3, 4}, "arange");
  check(e.dtype() == kFloat32 && e.shape() == Shape{3}, "tensor()");
  check(f.shape() == Shape{2, 3} && f.dtype() == kFloat32 && values.size() == 6 && values[5] == 6.0f, "from_vector");
  Generator again(42);
  check(randn({2, 3}, {}, &again).to_vector<float>() == g.to_vector<float>(), "randn reproducible from the seed");
  check(f.shape()[1] == 3 && d.sum().item() == 10.0, "printed line");
}

void promotion() {
  // [guide:tensors_dtypes]
  Tensor i = arange(4);                            // int64: 0, 1, 2, 3
  Tensor doubled = i * 2;                          // an integral number keeps int64
  Tensor halves = i * 0.5;                         // a floating one makes it float32
  Tensor ratio = i / 2;                            // true division: float32 0, 0.5, 1, 1.5
  Tensor wide = zeros({3}) + zeros({3}, {.dtype = kFloat64});            // float64: the wider type
  Tensor kept = zeros({3}) + scalar_tensor(1.0, {.dtype = kFloat64});   // float32: a 0-d operand
  DType common = result_type(i, zeros({4}));       // float32: floating beats integer
  Tensor converted = i.to(kFloat64);
  bool refused = false;
  try {
    i += 0.5;                                      // in place: int64 cannot hold a float32 result
  } catch (const Error& error) {
    refused = true;
    std::cout << error.what() << "\n";             // says what was refused and why
  }
  // [guide:end]
  check(doubled.dtype() == kInt64, "i * 2 is int64");
  check(halves.dtype() == kFloat32, "i * 0.5 is float32");
  check(ratio.dtype() == kFloat32 && near(ratio.to_vector<float>(), {0, 0.5, 1, 1.5}), "i / 2");
  check(wide.dtype() == kFloat64, "float32 + float64 tensor");
  check(kept.dtype() == kFloat32, "float32 + 0-d float64");
  check(common == kFloat32, "result_type");
  check(converted.dtype() == kFloat64, "to(kFloat64)");
  check(refused, "i += 0.5 throws");
  check(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3}, "i unchanged after the refusal");
}

void views() {
  // [guide:tensors_views]
  Tensor m = arange(6).view({2, 3});   // 0 1 2 / 3 4 5
  Tensor mt = m.t();                   // a view: same storage, swapped strides
  bool dense = mt.is_contiguous();     // false
  Tensor flat = mt.reshape({6});       // no view has this shape, so reshape copies
  Tensor packed = mt.contiguous();     // an explicit copy in row-major order
  m.select(0, 1).fill_(9);             // writes through the view: m is 0 1 2 / 9 9 9
  // [guide:end]
  check(!dense, "t() is not contiguous");
  check(flat.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 3, 1, 4, 2, 5}, "reshape copied");
  check(packed.is_contiguous() && packed.shape() == Shape{3, 2}, "contiguous()");
  check(m.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 9, 9, 9}, "fill_ through select");
  check(mt.select(1, 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{9, 9, 9}, "mt sees the write");
}

void indexing_basics() {
  // [guide:tensors_indexing]
  Tensor x = arange(12).view({3, 4});
  Tensor rows = x.narrow(0, 1, 2);                // rows 1 and 2: x[1:3]
  Tensor column = x.select(1, 2);                 // column 2, shape (3): x[:, 2]
  Tensor even = x.slice(1, 0, 4, 2);              // columns 0 and 2: x[:, 0:4:2]
  Tensor picked = index_select(x, 0, from_vector<std::int64_t>({2, 0}, {2}));  // rows 2 and 0, a copy
  // [guide:end]
  check(rows.shape() == Shape{2, 4} && rows.to_vector<std::int64_t>()[0] == 4, "narrow");
  check(column.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 6, 10}, "select");
  check(even.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 2, 4, 6, 8, 10}, "slice");
  check(picked.to_vector<std::int64_t>() == std::vector<std::int64_t>{8, 9, 10, 11, 0, 1, 2, 3}, "index_select");
  check(rows.data_ptr() != nullptr && rows.storage_offset() == 4, "narrow is a view");
}

void indexing_like_libtorch() {
  // [guide:tensors_index]
  using namespace redes::indexing;
  Tensor m = arange(24).view({2, 3, 4});
  Tensor a = m.index({Slice(1, None), 2});            // m[1:, 2], shape (1, 4), a view
  Tensor b = m.index({"...", Slice(None, None, 2)});  // m[..., ::2], shape (2, 3, 2)
  Tensor c = m.index({None, 0, -1});                  // m[None, 0, -1], shape (1, 4)
  Tensor d = m.index({m.select(2, 0) > 10});          // rows whose first value exceeds 10: a copy
  m.index_put_({Slice(), 0, 0}, -1);                  // m[:, 0, 0] = -1, in place
  // [guide:end]
  check(a.shape() == Shape{1, 4} && a.to_vector<std::int64_t>() == std::vector<std::int64_t>{20, 21, 22, 23},
        "m[1:, 2]");
  check(b.shape() == Shape{2, 3, 2}, "m[..., ::2]");
  check(c.shape() == Shape{1, 4} && c.to_vector<std::int64_t>()[0] == 8, "m[None, 0, -1]");
  check(d.shape() == Shape{3, 4} && d.to_vector<std::int64_t>()[0] == 12, "mask rows");
  check(m.to_vector<std::int64_t>()[0] == -1 && m.to_vector<std::int64_t>()[12] == -1 && a.to_vector<std::int64_t>()[0] == 20,
        "index_put_ wrote m[:, 0, 0] only");
}

void operators() {
  // [guide:tensors_operators]
  Tensor p = tensor({1.0, 2.0, 3.0});
  Tensor q = tensor({4.0, 5.0, 6.0});
  Tensor r = (p + q) * 2.0 - p / q;
  Tensor mask = p > 1.5;                          // bool: false, true, true
  double dot = (p * q).sum().item();              // 32
  Tensor table = p.view({3, 1}) * q;              // broadcasting (3, 1) with (3): (3, 3)
  Tensor product = matmul(p.view({1, 3}), q.view({3, 1}));  // (1, 1) holding 32
  Tensor means = table.mean({0});                 // per column: 8, 10, 12
  Tensor largest = max(table, 1).indices;         // int64: 2, 2, 2
  p += q;                                         // in place: 5, 7, 9
  // [guide:end]
  check(near(r.to_vector<float>(), {10 - 0.25, 14 - 0.4, 18 - 0.5}), "r");
  check(mask.dtype() == kBool && mask.to(kUInt8).to_vector<std::uint8_t>() == std::vector<std::uint8_t>{0, 1, 1}, "mask");
  check(dot == 32.0, "dot");
  check(table.shape() == Shape{3, 3}, "broadcast");
  check(product.shape() == Shape{1, 1} && product.item() == 32.0, "matmul");
  check(near(means.to_vector<float>(), {8, 10, 12}), "mean");
  check(largest.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 2, 2}, "max indices");
  check(near(p.to_vector<float>(), {5, 7, 9}), "+=");
}

void devices() {
  // [guide:tensors_devices]
  Device device = Device::best();                 // cuda:0 when a GPU is usable, else cpu
  Tensor x = ones({2, 2}).to(device);             // a copy on that device
  Tensor y = zeros({2, 2}, {.device = device});   // made there
  Tensor back = (x * 3.0 + y).to(Device::cpu());  // ops run where their operands are
  std::cout << "device: " << device << ", sum " << back.sum().item() << "\n";  // sum 12
  // [guide:end]
  check(x.device() == device && y.device() == device, "to(device)");
  check(back.device() == Device::cpu() && back.sum().item() == 12.0, "back on the CPU");
}

}  // namespace

int main() {
  return guide::run("guide_tensors", [] {
    creation();
    promotion();
    views();
    indexing_basics();
    indexing_like_libtorch();
    operators();
    devices();
  });
}
