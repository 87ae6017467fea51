// The admin web page's files (admin/web/), compiled into the binary: no file to install and no CDN,
// so the page works wherever remora runs.
#pragma once

#include <string_view>

namespace remora::admin {

// Generated at build time by admin/web/embed.cmake, byte for byte.
std::string_view webIndexHtml();  // admin/web/index.html
std::string_view webAppJs();      // admin/web/app.js

}  // namespace remora::admin
