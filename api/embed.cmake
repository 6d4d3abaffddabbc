# Writes the OpenAPI document (docs/openapi.json) into a C++ source as a raw string, so that the
# binary serves the document the repository holds: cmake -DIN=... -DOUT=... -P embed.cmake
file(READ "${IN}" CONTENT)
file(WRITE "${OUT}.tmp" "// Generated from docs/openapi.json by api/embed.cmake: edit the JSON.\n"
  "#include \"api/OpenApi.hpp\"\n\nnamespace confab::api {\n\n"
  "std::string_view openApiDocument() {\n  static constexpr std::string_view kDocument = R\"OPENAPI(${CONTENT})OPENAPI\";\n"
  "  return kDocument;\n}\n\n}  // namespace confab::api\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
