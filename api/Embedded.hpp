// Files built into the binary at build time by api/embed.cmake: the OpenAPI document and the
// web console's pages, served as the repository holds them (no files to install beside it).
#pragma once

#include <span>
#include <string_view>

namespace confab::api {

struct EmbeddedFile {
  std::string_view name;  // the file's base name in the repository
  std::string_view bytes;
};

// docs/openapi.json.
std::span<const EmbeddedFile> openApiFiles();
// api/console/*: the web console (api/Console.hpp).
std::span<const EmbeddedFile> consoleFiles();

}  // namespace confab::api
