// A build without MPI: one process only.
#include "core/error.h"
#include "train/dist/host_backend.h"

namespace redes::dist::detail {

std::unique_ptr<HostBackend> make_mpi_backend() {
  ::redes::detail::fail("redes::dist: this process was started as one of several by an MPI launcher, but redes was built "
               "without MPI (configure with libopenmpi-dev installed, or REDES_MPI=ON); run it as a single process");
}
bool mpi_built() { return false; }
std::string mpi_version() { return {}; }

}  // namespace redes::dist::detail
