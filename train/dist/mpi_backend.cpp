// The MPI transport: Open MPI (or any MPI 3) over whatever the launcher set
// up: shared memory between processes of one machine, TCP or InfiniBand
// between machines.
#include <mpi.h>

#include <algorithm>
#include <climits>

#include "core/error.h"
#include "train/dist/host_backend.h"

namespace redes::dist::detail {

namespace {

// MPI counts are int: larger buffers go in pieces of this many elements.
constexpr std::int64_t kMaxPiece = std::int64_t{1} << 30;

void check(int status, const char* what) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  ::redes::detail::fail("redes::dist: ", what, " failed: ", std::string(text, static_cast<std::size_t>(length)));
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    case DType::Int32: return MPI_INT32_T;
    case DType::UInt8:
    case DType::Bool: return MPI_UINT8_T;
    case DType::Float16:
    case DType::BFloat16: break;
  }
  ::redes::detail::fail("redes::dist: collectives over MPI take float32, float64, int64, int32, uint8 or bool tensors, got ",
               dtype_name(dtype), "; convert to float32 first");
}

MPI_Op mpi_op(ReduceOp op, DType dtype) {
  // A bool "sum" is a logical or, as in torch.distributed.
  const bool logical = dtype == DType::Bool;
  switch (op) {
    case ReduceOp::Sum: return logical ? MPI_LOR : MPI_SUM;
    case ReduceOp::Max: return logical ? MPI_LOR : MPI_MAX;
    case ReduceOp::Min: return logical ? MPI_LAND : MPI_MIN;
    case ReduceOp::Average: break;
  }
  ::redes::detail::fail("redes::dist: an average is a sum divided by the caller");
}

class MpiBackend final : public HostBackend {
 public:
  MpiBackend() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    // The job may have been joined already by the program itself.
    if (initialised == 0) {
      // Multiple: the watchdog may call MPI_Abort while this thread waits
      // inside a collective.
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
    }
    // Errors come back as codes, turned into redes::Error with MPI's text.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
    MPI_Comm local = MPI_COMM_NULL;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
          "MPI_Comm_split_type");
    check(MPI_Comm_rank(local, &local_rank_), "MPI_Comm_rank");
    MPI_Comm_free(&local);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  int local_rank() const override { return local_rank_; }

  void all_reduce(void* data, std::int64_t count, DType dtype, ReduceOp op) override {
    const MPI_Datatype type = mpi_type(dtype);
    const MPI_Op reduction = mpi_op(op, dtype);
    auto* bytes = static_cast<char*>(data);
    for (std::int64_t start = 0; start < count; start += kMaxPiece) {
      const int piece = static_cast<int>(std::min(kMaxPiece, count - start));
      check(MPI_Allreduce(MPI_IN_PLACE, bytes + start * static_cast<std::int64_t>(dtype_size(dtype)), piece, type,
                          reduction, MPI_COMM_WORLD),
            "MPI_Allreduce");
    }
  }

  void broadcast(void* data, std::int64_t bytes, int root) override {
    auto* base = static_cast<char*>(data);
    for (std::int64_t start = 0; start < bytes; start += kMaxPiece) {
      const int piece = static_cast<int>(std::min(kMaxPiece, bytes - start));
      check(MPI_Bcast(base + start, piece, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  void all_gather(const void* send, void* receive, std::int64_t bytes) override {
    REDES_CHECK(bytes <= INT_MAX, "redes::dist::all_gather: at most ", INT_MAX, " bytes per rank, got ", bytes);
    check(MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, receive, static_cast<int>(bytes), MPI_BYTE,
                        MPI_COMM_WORLD),
          "MPI_Allgather");
  }

  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; this is for the compiler
  }

  void finalize() override {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (owns_mpi_ && finalised == 0) MPI_Finalize();
  }

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  bool owns_mpi_ = false;
};

}  // namespace

std::unique_ptr<HostBackend> make_mpi_backend() { return std::make_unique<MpiBackend>(); }
bool mpi_built() { return true; }

std::string mpi_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, static_cast<std::size_t>(length));
  // Open MPI's line continues with its repository and date after a comma.
  if (const auto comma = version.find(','); comma != std::string::npos) version.resize(comma);
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();
  return version;
}

}  // namespace redes::dist::detail
