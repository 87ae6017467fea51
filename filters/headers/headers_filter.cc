// The `headers` filter: `{request: {add, remove}, response: {add, remove}}`.
#include "filters/headers/headers_filter.h"

#include "filters/yaml_fields.h"
#include "proxy/header_mutations.h"

namespace remora::filters {

namespace {

struct HeadersConfig {
  config::HeaderMutations request;
  config::HeaderMutations response;
};

class HeadersFilter : public Filter {
 public:
  explicit HeadersFilter(const HeadersConfig& config) : config_(config) {}
  Next onRequestHeaders(RequestHeaders& headers, bool) override {
    applyHeaderMutations(config_.request, headers.headers);
    return Next::Continue;
  }
  Next onResponseHeaders(ResponseHeaders& headers, bool) override {
    applyHeaderMutations(config_.response, headers.headers);
    return Next::Continue;
  }

 private:
  const HeadersConfig& config_;
};

class HeadersFilterFactory : public FilterFactory {
 public:
  explicit HeadersFilterFactory(HeadersConfig config) : config_(std::move(config)) {}
  std::unique_ptr<Filter> create(StreamContext&) const override {
    return std::make_unique<HeadersFilter>(config_);
  }

 private:
  HeadersConfig config_;
};

}  // namespace

Result<std::shared_ptr<const FilterFactory>> createHeadersFilterFactory(
    const config::FilterConfig& config) {
  std::vector<Error> errors;
  HeadersConfig parsed;
  const YAML::Node& node = config.config;
  if (!node.IsMap()) {
    return Error{config.location, "headers: expected a mapping {request, response}"};
  }
  checkKnownKeys(config, node, {"request", "response"}, "headers filter", errors);
  if (const YAML::Node request = node["request"]) {
    readHeaderMutations(config, request, parsed.request, errors);
  }
  if (const YAML::Node response = node["response"]) {
    readHeaderMutations(config, response, parsed.response, errors);
  }
  if (!errors.empty()) return errors;
  return std::shared_ptr<const FilterFactory>(
      std::make_shared<HeadersFilterFactory>(std::move(parsed)));
}

}  // namespace remora::filters
