// The oneDNN engine, streams, primitive cache and the run() that moves
// operands between redes' plain layouts and the ones a primitive wants.
#include "kernels/onednn/onednn.h"

#include <cstring>
#include <mutex>

#include "core/error.h"
#include "core/runtime.h"

namespace redes::onednn {

dnnl::engine& engine() {
  static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

dnnl::stream& stream() {
  thread_local dnnl::stream own(engine());
  return own;
}


namespace {

Operand operand(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted, bool is_output) {
  Operand o{arg, user, wanted, is_output, false, std::nullopt};
  if (user != wanted) {
    const dnnl::memory::desc& from = is_output ? wanted : user;
    const dnnl::memory::desc& to = is_output ? user : wanted;
    o.reorder.emplace(dnnl::reorder::primitive_desc(engine(), from, engine(), to));
  }
  return o;
}

}  // namespace

Operand input(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted) {
  return operand(arg, user, wanted, false);
}

Operand output(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted) {
  return operand(arg, user, wanted, true);
}

Operand accumulated_output(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted) {
  Operand o = operand(arg, user, wanted, true);
  o.zero_first = true;
  return o;
}

void run(const Prepared& prepared, const std::vector<void*>& data, Workspace& workspace) {
  dnnl::stream& s = stream();
  std::unordered_map<int, dnnl::memory> args;
  // Outputs held in the primitive's layout until they are reordered back.
  std::vector<std::pair<const Operand*, dnnl::memory>> pending;
  for (std::size_t i = 0; i < prepared.operands.size(); ++i) {
    const Operand& o = prepared.operands[i];
    dnnl::memory user(o.user, engine(), data[i]);
    if (!o.reorder) {
      if (o.zero_first) std::memset(data[i], 0, o.user.get_size());
      args.emplace(o.arg, user);
      continue;
    }
    void* buffer = workspace.request(o.wanted.get_size());
    if (o.zero_first) std::memset(buffer, 0, o.wanted.get_size());
    dnnl::memory wanted(o.wanted, engine(), buffer);
    if (o.output) {
      pending.emplace_back(&o, user);
    } else {
      o.reorder->execute(s, user, wanted);
    }
    args.emplace(o.arg, wanted);
  }
  if (prepared.scratchpad.get_size() > 0) {
    args.emplace(DNNL_ARG_SCRATCHPAD,
                 dnnl::memory(prepared.scratchpad, engine(), workspace.request(prepared.scratchpad.get_size())));
  }
  prepared.primitive.execute(s, args);
  for (auto& [o, user] : pending) o->reorder->execute(s, args.at(o->arg), user);
  s.wait();
}

const Prepared& cached(const std::string& key, const std::function<Prepared()>& build) {
  static std::mutex mutex;
  // Entries are never erased, so references stay valid after the lock is released.
  static std::unordered_map<std::string, std::unique_ptr<Prepared>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = cache.find(key);
  if (found == cache.end()) found = cache.emplace(key, std::make_unique<Prepared>(build())).first;
  return *found->second;
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

bool has_bf16() {
  // oneDNN states no such query; building a small bfloat16 convolution
  // answers it the way the kernels will meet it.
  static const bool supported = [] {
    try {
      const dnnl::memory::dims src{1, 16, 8, 8}, weights{16, 16, 3, 3}, dst{1, 16, 6, 6};
      const auto any = [](const dnnl::memory::dims& dims) {
        return dnnl::memory::desc(dims, dnnl::memory::data_type::bf16, dnnl::memory::format_tag::any);
      };
      const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training,
                                                 dnnl::algorithm::convolution_direct, any(src), any(weights),
                                                 any(dst), {1, 1}, {0, 0}, {0, 0});
      const dnnl::convolution_forward::primitive_desc pd(desc, engine());
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return supported;
}

void translate_errors(const char* op, const std::function<void()>& body) {
  try {
    body();
  } catch (const dnnl::error& e) {
    detail::fail(op, ": oneDNN failed: ", e.what(), " (status ", static_cast<int>(e.status), ")");
  }
}

}  // namespace redes::onednn

namespace redes {

std::string detail::onednn_cpu_description() {
  std::string isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "isa code " + std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa())); break;
  }
  // Native bfloat16 arithmetic needs AVX512-BF16 or AMX; plain AVX-512
  // converts to float32 inside oneDNN's kernels.
  const bool native = dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_bf16 ||
                      dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_amx;
  const char* bf16 = !onednn::has_bf16() ? "no bfloat16 kernels" : native ? "bfloat16 native" : "bfloat16 emulated";
  return isa + "; " + bf16;
}

std::string detail::onednn_library_version() {
  const dnnl_version_t* v = dnnl::version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace redes
