# Writes the OpenAPI document (docs/openapi.json) into a C++ source, so that the binary serves the
# document the repository holds: cmake -DIN=... -DOUT=... -P embed.cmake
# As bytes, not as a string literal: a literal may be at most 65,536 characters (C++ [implimits];
# clang's -Woverlength-strings), and the document is longer.
file(READ "${IN}" HEX_CONTENT HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX_CONTENT}")
# 16 bytes to a line, so that the generated file stays readable to tools.
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 SIXTEEN)
string(REGEX REPLACE "(${SIXTEEN})" "\\1\n    " BYTES "${BYTES}")
file(WRITE "${OUT}.tmp" "// Generated from docs/openapi.json by api/embed.cmake: edit the JSON.\n"
  "#include \"api/OpenApi.hpp\"\n\nnamespace confab::api {\n\n"
  "namespace {\n\nconstexpr unsigned char kDocument[] = {\n    ${BYTES}\n};\n\n}  // namespace\n\n"
  "std::string_view openApiDocument() {\n"
  "  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes viewed as text\n"
  "  return {reinterpret_cast<const char*>(kDocument), sizeof kDocument};\n}\n\n"
  "}  // namespace confab::api\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
