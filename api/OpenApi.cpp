#include "api/OpenApi.hpp"

#include "api/Embedded.hpp"

namespace confab::api {

std::string_view openApiDocument() {
  return openApiFiles().front().bytes;
}

}  // namespace confab::api
