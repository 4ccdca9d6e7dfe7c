#include "core/error.h"

namespace redes {

// Out of line so the vtable and typeinfo live in libredes, and catching
// redes::Error works across the shared-library boundary.
Error::~Error() = default;

}  // namespace redes
