#include "core/storage.h"

#include "core/allocator.h"

namespace redes {

Storage::Storage(std::size_t nbytes, Device device) : Storage(nbytes, device, allocator_for(device), false) {}

Storage::Storage(std::size_t nbytes, Device device, Allocator& allocator, bool pinned)
    : nbytes_(nbytes), device_(device), allocator_(&allocator), pinned_(pinned), data_(allocator.allocate(nbytes)) {}

Storage::~Storage() { allocator_->deallocate(data_, nbytes_); }

}  // namespace redes
