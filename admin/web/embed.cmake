# Turns one file of the admin web page into a C++ source (a byte array and the function
# admin/web_assets.h declares), at build time and without the network:
#   cmake -DINPUT=admin/web/index.html -DOUTPUT=web_index_html.cc -DFUNCTION=webIndexHtml -P embed.cmake
# A byte array, not a raw string: any byte of the file is safe, and no delimiter can clash.
foreach(var INPUT OUTPUT FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake needs -D${var}=...")
  endif()
endforeach()

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
if(hex_length EQUAL 0)
  message(FATAL_ERROR "embed.cmake: ${INPUT} is empty")
endif()
# Two hex digits a byte, 16 bytes a line (CMake's regular expressions have no {n}).
set(bytes "")
set(offset 0)
while(offset LESS hex_length)
  string(SUBSTRING "${hex}" ${offset} 32 line)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," line "${line}")
  string(APPEND bytes "    ${line}\n")
  math(EXPR offset "${offset} + 32")
endwhile()
get_filename_component(name "${INPUT}" NAME)

file(WRITE "${OUTPUT}" "// Generated from admin/web/${name} by admin/web/embed.cmake at build time; do not edit.
#include \"admin/web_assets.h\"

namespace remora::admin {
namespace {

constexpr unsigned char kBytes[] = {
${bytes}};

}  // namespace

std::string_view ${FUNCTION}() {
  return {reinterpret_cast<const char*>(kBytes), sizeof(kBytes)};
}

}  // namespace remora::admin
")
