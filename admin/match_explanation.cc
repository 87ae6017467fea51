// The reasons /explain gives for virtual host selection and route (mis)matches.
#include "admin/match_explanation.h"

#include "config/http_syntax.h"

namespace remora::admin {

namespace {

// Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "'" + std::string(text).
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  return out.append("'").append(text).append("'");
}

std::string joinedQuoted(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& value : values) {
    if (!out.empty()) out += ", ";
    out += quoted(value);
  }
  return out;
}

std::string pathMismatch(const config::RouteMatch& match, std::string_view path) {
  switch (match.path_kind) {
    case config::RouteMatch::PathKind::Prefix:
      return "path " + quoted(path) + " does not start with prefix " + quoted(match.path);
    case config::RouteMatch::PathKind::Exact:
      return "path " + quoted(path) + " is not exactly " + quoted(match.path);
    case config::RouteMatch::PathKind::Regex:
      return "path " + quoted(path) + " does not fully match regex " + quoted(match.path);
  }
  return "path " + quoted(path) + " does not match";
}

// Why no field satisfies `wanted`: absent, or present with other values.
std::string headerMismatch(const config::HeaderMatch& wanted, const HeaderMap& headers) {
  std::vector<std::string> values;
  for (const auto& field : headers) {
    if (field.name == wanted.name) values.emplace_back(field.value);
  }
  if (values.empty()) {
    return "header " + quoted(wanted.name) + " is missing (wanted " + quoted(wanted.value) + ")";
  }
  return "header " + quoted(wanted.name) + " is " + joinedQuoted(values) + ", not " +
         quoted(wanted.value);
}

}  // namespace

std::vector<std::string> routeMismatches(const CompiledRoute& route,
                                         const RequestHeaders& request) {
  std::vector<std::string> reasons;
  const config::RouteMatch& match = route.config->match;
  const std::string_view path = pathWithoutQuery(request.path);
  if (!pathMatches(route, path)) reasons.push_back(pathMismatch(match, path));
  if (!methodMatches(match, request.method)) {
    reasons.push_back("method " + quoted(request.method) + " is not one of " +
                      joinedQuoted(match.methods));
  }
  for (const auto& header : match.headers) {
    if (!headerMatches(header, request.headers)) {
      reasons.push_back(headerMismatch(header, request.headers));
    }
  }
  return reasons;
}

HostSelection explainHostSelection(const RouteTable& table, std::string_view authority) {
  using Rule = HostChoice::Rule;
  const HostChoice choice = table.chooseHost(authority);
  const std::string host = quoted(toLower(hostWithoutPort(authority)));
  const std::string domain = quoted(choice.domain);
  HostSelection out{choice.host, "", std::string(choice.domain), ""};
  switch (choice.rule) {
    case Rule::Exact:
      out.rule = "exact";
      out.why = "domain " + domain + " is exactly " + host;
      break;
    case Rule::Suffix:
      out.rule = "suffix";
      out.why = "no domain is exactly " + host + "; " + domain +
                " is the longest suffix wildcard that matches it";
      break;
    case Rule::Prefix:
      out.rule = "prefix";
      out.why = "no domain is exactly " + host + " and no suffix wildcard matches it; " + domain +
                " is the longest prefix wildcard that matches it";
      break;
    case Rule::Any:
      out.rule = std::string(1, '*');  // not = "*": GCC 12 -O3 warns falsely (-Wrestrict)
      out.why = "no exact, suffix or prefix domain matches " + host +
                "; this virtual host has the catch-all '*'";
      break;
    case Rule::None: {
      out.rule = "none";
      std::vector<std::string> domains;
      for (const auto& candidate : table.hosts()) {
        domains.insert(domains.end(), candidate.config->domains.begin(),
                       candidate.config->domains.end());
      }
      out.why = "no virtual host has a domain matching " + host +
                " and none has '*'; domains: " + joinedQuoted(domains);
      break;
    }
  }
  return out;
}

}  // namespace remora::admin
