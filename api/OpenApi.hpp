// The API's OpenAPI 3.1 document (docs/openapi.json), built into the binary and served at
// /v1/openapi.json. A unit test holds it and the router's table to each other, both ways.
#pragma once

#include <string_view>

namespace confab::api {

std::string_view openApiDocument();

}  // namespace confab::api
