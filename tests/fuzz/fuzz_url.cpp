// libFuzzer target: readyprobe::parse_url and Url::redacted, with passwords and odd characters.
//
// Input: text. The whole input is parsed as a URL. When it has at least four lines, they are
// also read as components: line 1 a scheme, line 2 a user, line 3 a password, the rest the
// host/port/path/query; the target assembles scheme://user:password@rest twice, once with the
// password as written (the operator pasted it unencoded) and once percent-encoded.
//
// Properties:
// - parse_url throws std::invalid_argument or returns; nothing else escapes.
// - redacted() never depends on the password or a *password* query value, and never contains the
//   password (a password of >= 4 characters that does not occur elsewhere in the input).
// - hosts[0] is host/port, every port is in range, several hosts only in a postgres URL.
// - a parse error never contains the password.
// - a percent-encoded user and password come back exactly.
#include "fuzz_support.hpp"

#include <readyprobe/url.hpp>

#include "url_text.hpp"

#include <stdexcept>
#include <string>

using namespace readyprobe;
using rpfuzz::checkable_secret;
using rpfuzz::contains;
using rpfuzz::without_first;

namespace {

std::string percent_encode(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

// Users are identifiers in practice; a user with URL delimiters in it is not what we test
// (the password is the part operators paste unencoded).
bool plain_user(const std::string& user) {
    return user.find_first_of(":@/?#%") == std::string::npos;
}

// Invariants of any successfully parsed URL; `whole_input`: `input` is the fuzzer's bytes as
// they came (the password, if any, is wherever the parser found it).
void check_parsed(const Url& url, const std::string& input, bool whole_input) {
    RPFUZZ_CHECK(url.port >= 0 && url.port <= 65535, input);
    // Every host has a port in range; the first is host/port; several only in postgres URLs.
    for (const Endpoint& e : url.hosts) RPFUZZ_CHECK(e.port >= 0 && e.port <= 65535, input);
    if (!url.hosts.empty()) {
        RPFUZZ_CHECK(url.hosts[0].host == url.host && url.hosts[0].port == url.port, "hosts[0] is not host: " + input);
    }
    const bool postgres = url.scheme == "postgres" || url.scheme == "postgresql";
    RPFUZZ_CHECK(postgres || url.hosts.size() <= 1, "several hosts outside postgres: " + input);
    const std::string redacted = url.redacted();
    // Non-interference: the password and the secret query values never influence what is printed.
    Url other = url;
    if (!url.password.empty()) {
        other.password = Secret("Zz-other-pw");
        RPFUZZ_CHECK(other.redacted() == redacted, "redacted() depends on the password: " + input);
    }
    for (auto& kv : other.secret_query) kv.second = Secret("Zz-other-secret");
    RPFUZZ_CHECK(other.redacted() == redacted, "redacted() depends on a secret parameter: " + input);
    for (const auto& kv : url.secret_query) RPFUZZ_CHECK(is_secret_param(kv.first), input);
    for (const auto& kv : url.query) RPFUZZ_CHECK(!is_secret_param(kv.first) && kv.first != "password", input);
    // The password, when it is written once as-is in the input (>= 4 characters): redacted()
    // does not show it, unless it shows it just as much with another password in its place
    // (a user "ab%63d" and a password "abcd").
    const std::string& pw = url.password.reveal();
    // Where the password's text first occurs in the input: it must be the password as written,
    // not the scheme ("s://:s:/%2F@" has the password "s://", percent-encoded in the userinfo,
    // and that text as its scheme, which redacted() shows and rotating would change).
    const std::size_t pw_at = input.find(pw);
    const std::size_t scheme_sep = input.find("://");
    // And that first occurrence is the password field itself (":pw@"), not text of the user name
    // ("postgres://a-pw@b:a-pw%40@h" has the password "a-pw@", which its user name shows).
    const bool written_in_userinfo =
        pw_at != std::string::npos && (scheme_sep == std::string::npos || pw_at >= scheme_sep + 3) &&
        pw_at > 0 && input[pw_at - 1] == ':' && input.compare(pw_at + pw.size(), 1, "@") == 0;
    if (whole_input && contains(redacted, pw) && checkable_secret(pw, without_first(input, pw)) &&
        written_in_userinfo && rpfuzz::rotate(pw) != pw) {
        std::string other_redacted;
        try {
            other_redacted = parse_url(rpfuzz::with_rotated(input, pw)).redacted();
        } catch (const std::invalid_argument&) {
        }
        RPFUZZ_CHECK(contains(other_redacted, pw), "redacted() shows the password: " + redacted);
    }
    (void)url.authority();
    (void)url.param("sslmode", "prefer");
}

// Parses `text`, whose password is `password`; `others` is everything else the input says
// (where the password's text may legitimately occur). Returns whether it parsed.
bool parse_with_password(const std::string& text, const std::string& password, const std::string& others,
                         Url& out) {
    const bool check_secret = password.find('*') == std::string::npos && checkable_secret(password, others);
    try {
        out = parse_url(text);
    } catch (const std::invalid_argument& e) {
        if (check_secret && contains(e.what(), password) && rpfuzz::rotate(password) != password) {
            // A leak if the message follows the password (not a password like "host").
            std::string other_message;
            try {
                (void)parse_url(rpfuzz::with_rotated(text, password));
            } catch (const std::invalid_argument& e2) {
                other_message = e2.what();
            }
            RPFUZZ_CHECK(contains(other_message, password),
                         std::string("the parse error shows the password: ") + e.what());
        }
        return false;
    }
    check_parsed(out, text, false);
    if (check_secret && contains(out.redacted(), password) && rpfuzz::rotate(password) != password) {
        // A leak if the text follows the password (not "k=" made from a query "k").
        std::string other_redacted;
        try {
            other_redacted = parse_url(rpfuzz::with_rotated(text, password)).redacted();
        } catch (const std::invalid_argument&) {
        }
        RPFUZZ_CHECK(contains(other_redacted, password),
                     "redacted() shows (part of a split) password: " + out.redacted() + " from " + text);
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input = rpfuzz::as_string(data, size);

    // 1. The whole input as a URL.
    try {
        const Url url = parse_url(input);
        check_parsed(url, input, true);
    } catch (const std::invalid_argument&) {
    }
    try {
        (void)percent_decode(input);
    } catch (const std::invalid_argument&) {
    }

    // 2. Components.
    const auto lines = rpfuzz::split(input, "\n");
    if (lines.size() < 4) return 0;
    const std::string& scheme = lines[0];
    const std::string& user = lines[1];
    const std::string& password = lines[2];
    std::string rest = lines[3];
    for (std::size_t i = 4; i < lines.size(); ++i) rest += "\n" + lines[i];
    const bool plain_scheme = !scheme.empty() && scheme.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") == std::string::npos;
    // Otherwise the "password" is not in the userinfo at all (sid://p/a?x://user:pw@...).
    if (!plain_user(user) || !plain_scheme) return 0;

    // 2a. The password as written (unencoded): it must never be printed, whatever happens.
    Url url;
    const std::string raw = scheme + "://" + user + ":" + password + "@" + rest;
    const std::string others = without_first(raw, password);
    parse_with_password(raw, password, others, url);

    // 2b. Percent-encoded: it must come back exactly.
    const std::string encoded = scheme + "://" + percent_encode(user) + ":" + percent_encode(password) + "@" + rest;
    const bool plain_rest = rest.find_first_of("@?") == std::string::npos;
    if (parse_with_password(encoded, password, others, url) && plain_rest) {
        RPFUZZ_CHECK(url.password.reveal() == password || (password.empty() && url.password.empty()),
                     "an encoded password did not come back: " + encoded);
        RPFUZZ_CHECK(url.user == user, "an encoded user did not come back: " + encoded);
    }
    return 0;
}
