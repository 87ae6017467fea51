// /explain's query string, and the request it describes as the HTTP/1.1 codec reads it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/result.h"
#include "proxy/message.h"

namespace remora::admin {

struct ExplainQuery {
  std::string listener;              // "" when not given
  std::string client = "127.0.0.1";  // the client address x-forwarded-for gets
  std::string method = "GET";
  std::string path = "/";
  std::optional<std::string> host;
  std::vector<std::string> fields;  // each header= as a field line "name: value"
  bool host_field = false;          // a header= is Host
};

// `query` is the part after '?' ("" for none): listener=L, path=P, method=M, host=H, client=IP
// and header=name:value any number of times, percent-encoded ('+' is a space). Every problem is
// an error; a header= must be a valid field line (the codec's own scanner says).
Result<ExplainQuery> parseExplainQuery(std::string_view query);

// The request as `listener`'s HTTP/1.1 codec hands it to the stream, read by the codec's own
// code from a head made of the query (an empty Host when none is given); `notes` says what
// reading changed. An error when the codec refuses it, with the status it would answer.
struct CodecRequest {
  RequestHeaders request;
  std::vector<std::string> notes;
};
Result<CodecRequest> readAsCodec(const ExplainQuery& query, const config::Listener& listener);

}  // namespace remora::admin
