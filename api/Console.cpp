// The web console (issue 16): static pages built into the binary (api/console/, embedded by
// api/embed.cmake), served at / by the API's own server. They call the same REST API with the
// same keys; serving them needs none.
#include <algorithm>
#include <string>
#include <string_view>

#include "api/Embedded.hpp"
#include "api/Routes.hpp"

namespace confab::api::routes {

namespace {

std::string_view contentTypeOf(std::string_view name) {
  const auto dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html") {
    return "text/html; charset=utf-8";
  }
  if (ext == "js") {
    return "text/javascript; charset=utf-8";  // RFC 9239
  }
  if (ext == "css") {
    return "text/css; charset=utf-8";
  }
  if (ext == "svg") {
    return "image/svg+xml";
  }
  if (ext == "png") {
    return "image/png";
  }
  return "application/octet-stream";
}

Reply asset(std::string_view name) {
  const auto files = consoleFiles();
  const auto found = std::find_if(files.begin(), files.end(),
                                  [&](const EmbeddedFile& f) { return f.name == name; });
  if (found == files.end()) {
    return problemWith(http::status::not_found, "no console file " + printable(name));
  }
  // What the page may do, however it was reached (a display name or room name that slipped past
  // the escaping cannot run: no inline script, no other origin). CSP Level 3: 'self' in
  // connect-src also allows the same host's ws: and wss: (the /v1/events stream).
  Text out{http::status::ok, std::string(contentTypeOf(name)), std::string(found->bytes), {}};
  out.headers = {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
      {"X-Frame-Options", "DENY"},  // for browsers before frame-ancestors
      {"Referrer-Policy", "no-referrer"},
      {"X-Content-Type-Options", "nosniff"},
      // The pages change with the binary: asked again each time, and small.
      {"Cache-Control", "no-cache"},
  };
  return out;
}

}  // namespace

Reply getConsole(const Context& /*context*/, const Request& /*request*/, const Params& /*params*/) {
  return asset("index.html");
}

Reply getConsoleFile(const Context& /*context*/, const Request& /*request*/, const Params& params) {
  return asset(param(params, "file"));
}

}  // namespace confab::api::routes
