// JSON text output shared by every writer: string literals escaped exactly as Go's json.Marshal does.
#pragma once

#include <string>
#include <string_view>

namespace platoon::config {

// Appends s as a JSON string literal with Go's escaping: ", \\, \\n, \\r, \\t, other control
// characters as \\u00XX, and the HTML-safe <, >, & and U+2028/U+2029 as \\u escapes (so the text is
// also safe inside an HTML <script>). Other bytes, UTF-8 included, pass through.
void AppendJsonString(std::string& out, std::string_view s);
std::string JsonString(std::string_view s);

}  // namespace platoon::config
