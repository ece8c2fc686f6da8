#pragma once
/// Reads rule files: the single-packet subset of the Suricata/Snort rule language.
///
/// A rule that cannot be parsed gives an error naming file:line and the reason; a rule that needs
/// what a single packet cannot give (sessions, application-layer buffers, another keyword outside
/// the subset) is skipped with a message naming file:line and the keyword. Either way the rest of
/// the file still loads. No input can crash or hang the parser (tests/fuzz/rule_parser_fuzz.cpp).

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "signature/category.hpp"
#include "signature/rule.hpp"

namespace darkscope::sig {

struct RuleMessage {
    std::string file;
    uint32_t line = 0;
    std::string keyword;  // for skipped rules: what made it unsupported
    std::string text;
    std::string ToString() const;  // "file:line: text"
};

struct RuleSet {
    std::vector<Rule> rules;
    std::vector<RuleMessage> errors;   // malformed rules
    std::vector<RuleMessage> skipped;  // well-formed rules outside the single-packet subset
    size_t disabled = 0;               // commented-out rules (`# alert ...`), not counted as loaded
};

struct ParseOptions {
    /// Address and port variables without the '$' (HOME_NET, HTTP_PORTS, ...); the defaults cover
    /// the names ET Open uses, with every address in HOME_NET and EXTERNAL_NET (a darknet has no
    /// inside and outside).
    std::map<std::string, std::string, std::less<>> vars = DefaultVars();
    /// classtype -> category for rules without `metadata: darkscope_category ...`; unlisted
    /// classtypes fall in Others.
    std::map<std::string, Category, std::less<>> classtypes = DefaultClasstypes();

    static std::map<std::string, std::string, std::less<>> DefaultVars();
    static std::map<std::string, Category, std::less<>> DefaultClasstypes();
};

/// Parses one rule (no trailing newline). Returns the rule, or fills `error` (and `skip_keyword` when
/// the rule is well-formed but unsupported) and returns nullopt.
std::optional<Rule> ParseRule(std::string_view text, const ParseOptions &options, std::string &error,
                              std::string &skip_keyword);

/// Parses rule text (one rule per line, `\` continues a line, `#` starts a comment), appending to
/// `out`; messages name `file` and the line.
void ParseRules(std::string_view text, std::string_view file, const ParseOptions &options, RuleSet &out);

/// Reads and parses a rule file. Throws std::runtime_error if it cannot be read.
void ParseRuleFile(const std::filesystem::path &path, const ParseOptions &options, RuleSet &out);

/// Reads a classtype map (TOML: a [classtypes] table of "classtype" = "Category") into `options`.
/// Throws std::runtime_error naming the file, and line where known, on a bad entry.
void LoadClasstypeMap(const std::filesystem::path &path, ParseOptions &options);

/// The default rule set shipped with darkscope (rules/darkscope.rules, compiled in).
std::string_view DefaultRulesText();
/// The file name messages give the built-in set.
constexpr std::string_view DEFAULT_RULES_NAME = "darkscope.rules (built in)";

/// The default set (if `with_default`) and then each file, in order. A rule whose sid was already
/// loaded is an error (file:line, and where the first one is); the first one stays.
/// Throws std::runtime_error if a file cannot be read.
RuleSet LoadRules(bool with_default, const std::vector<std::filesystem::path> &files, const ParseOptions &options);

/// One line per keyword that made rules be skipped, most frequent first: "flow (12), http.uri (3)".
std::string SkippedByKeyword(const RuleSet &set);

}  // namespace darkscope::sig
