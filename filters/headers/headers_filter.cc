// The `headers` filter: `{request: {add, remove}, response: {add, remove}}`.
#include "filters/headers/headers_filter.h"

#include "config/header_mutations_reader.h"
#include "filters/filter_settings.h"
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
  return makeFilterFactory<HeadersFilterFactory, HeadersConfig>(
      config, "headers filter", {"request", "response"},
      [](config::YamlReader& reader, const config::Fields& fields, HeadersConfig& out) {
        if (const config::Field* f = fields.find("request")) {
          config::readHeaderMutations(reader, f->value, "request", out.request);
        }
        if (const config::Field* f = fields.find("response")) {
          config::readHeaderMutations(reader, f->value, "response", out.response);
        }
      });
}

}  // namespace remora::filters
