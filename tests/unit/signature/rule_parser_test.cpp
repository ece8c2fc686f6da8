#include "signature/rule_parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "signature/keywords/keyword_table.hpp"

using namespace darkscope;
using namespace darkscope::sig;

namespace {

Rule Parse(std::string_view text) {
    std::string error, keyword;
    auto rule = ParseRule(text, ParseOptions{}, error, keyword);
    EXPECT_TRUE(rule) << text << ": " << error;
    return rule ? *rule : Rule{};
}

std::string ErrorOf(std::string_view text, std::string *keyword_out = nullptr) {
    std::string error, keyword;
    auto rule = ParseRule(text, ParseOptions{}, error, keyword);
    EXPECT_FALSE(rule) << text;
    if (keyword_out) *keyword_out = keyword;
    return error;
}

}  // namespace

TEST(RuleParser, HeaderAndMetaOptions) {
    Rule r = Parse(R"(alert tcp 10.0.0.0/8 any -> [192.0.2.1,198.51.100.0/24] 445 (msg:"SMB \"probe\"; here"; )"
                   R"(flags:S; classtype:attempted-recon; reference:url,example.com; sid:1000; rev:3; gid:1;))");
    EXPECT_EQ(r.action, "alert");
    EXPECT_EQ(r.proto, RuleProto::TCP);
    EXPECT_EQ(r.msg, "SMB \"probe\"; here");
    EXPECT_EQ(r.sid, 1000u);
    EXPECT_EQ(r.rev, 3u);
    EXPECT_EQ(r.classtype, "attempted-recon");
    EXPECT_EQ(r.category, Category::SCAN);  // by the default classtype map
    EXPECT_TRUE(r.src.Matches(*IpAddress::Parse("10.1.2.3")));
    EXPECT_FALSE(r.src.Matches(*IpAddress::Parse("11.1.2.3")));
    EXPECT_TRUE(r.dst.Matches(*IpAddress::Parse("198.51.100.7")));
    EXPECT_FALSE(r.dst.Matches(*IpAddress::Parse("192.0.2.2")));
    EXPECT_TRUE(r.dport.Matches(445));
    EXPECT_FALSE(r.dport.Matches(446));
    EXPECT_TRUE(r.sport.Any());
}

TEST(RuleParser, NegationRangesListsAndVariables) {
    ParseOptions options;
    options.vars["HOME_NET"] = "[192.0.2.0/24,!192.0.2.5]";
    std::string error, keyword;
    auto r = ParseRule("alert udp !$HOME_NET any -> $HOME_NET [1024:2048,!1500,:10] (sid:1;)", options, error, keyword);
    ASSERT_TRUE(r) << error;
    EXPECT_FALSE(r->src.Matches(*IpAddress::Parse("192.0.2.7")));
    EXPECT_TRUE(r->src.Matches(*IpAddress::Parse("192.0.2.5")));  // !(!x) is x
    EXPECT_TRUE(r->dst.Matches(*IpAddress::Parse("192.0.2.7")));
    EXPECT_FALSE(r->dst.Matches(*IpAddress::Parse("192.0.2.5")));
    EXPECT_TRUE(r->dport.Matches(1024));
    EXPECT_TRUE(r->dport.Matches(5));
    EXPECT_FALSE(r->dport.Matches(1500));
    EXPECT_FALSE(r->dport.Matches(3000));
    Rule b = Parse("alert ip any any <> 2001:db8::/32 any (sid:2;)");
    EXPECT_TRUE(b.bidirectional);
    EXPECT_TRUE(b.dst.Matches(*IpAddress::Parse("2001:db8::1")));
}

TEST(RuleParser, ContentModifiersAttachToTheLastContent) {
    Rule r = Parse(R"(alert udp any any -> any 53 (content:"|00 01|abc"; offset:2; depth:10; content:!"x\;y"; )"
                   R"(distance:1; within:5; nocase; fast_pattern; sid:5;))");
    ASSERT_EQ(r.payload.size(), 2u);
    const auto &a = std::get<ContentOp>(r.payload[0]);
    EXPECT_EQ(a.bytes, std::string("\x00\x01" "abc", 5));
    EXPECT_EQ(*a.offset, 2);
    EXPECT_EQ(*a.depth, 10);
    EXPECT_FALSE(a.nocase);
    const auto &b = std::get<ContentOp>(r.payload[1]);
    EXPECT_EQ(b.bytes, "x;y");
    EXPECT_TRUE(b.negated);
    EXPECT_TRUE(b.nocase);
    EXPECT_TRUE(b.fast_pattern);
    EXPECT_EQ(*b.distance, 1);
    EXPECT_EQ(*b.within, 5);
}

TEST(RuleParser, MetadataCategoryWinsOverClasstype) {
    Rule r = Parse("alert udp any any -> any any (classtype:attempted-dos; metadata:foo bar, darkscope_category "
                   "Scan(P2P); sid:7;)");
    EXPECT_EQ(r.category, Category::SCAN_P2P);
    Rule o = Parse("alert udp any any -> any any (classtype:policy-violation; sid:8;)");
    EXPECT_EQ(o.category, Category::OTHERS);
}

TEST(RuleParser, MalformedRulesGiveAClearError) {
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any sid:1;"),
              "a rule is `action proto src sport -> dst dport (options)`: no option list in parentheses");
    EXPECT_EQ(ErrorOf("shout tcp any any -> any any (sid:1;)"), "unknown action 'shout'");
    EXPECT_EQ(ErrorOf("alert tcp any any => any any (sid:1;)"), "direction must be -> or <>, not '=>'");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any 70000 (sid:1;)"), "port: '70000' is not a port");
    EXPECT_EQ(ErrorOf("alert tcp 10.0.0.300 any -> any any (sid:1;)"),
              "address: '10.0.0.300' is not an address or network");
    EXPECT_EQ(ErrorOf("alert tcp $NOPE any -> any any (sid:1;)"), "address: unknown variable $NOPE");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (content:\"abc\"; sid:1)"), "the last option needs a ';'");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (content:\"|4|\"; sid:1;)"),
              "content: odd number of hex digits in content");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (depth:3; sid:1;)"), "depth needs a content before it");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (content:\"abc\";)"), "the rule has no sid");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (dsize:5<>3; sid:1;)"),
              "dsize: range '5<>3': the first value must be below the second");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (flags:SX; sid:1;)"), "flags: unknown flag 'X'");
    EXPECT_EQ(ErrorOf("alert icmp any 80 -> any any (sid:1;)"), "ports are only for tcp and udp rules");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (pcre:\"/a(/\"; sid:1;)").substr(0, 15), "pcre at offset ");
}

TEST(RuleParser, SessionAndApplicationKeywordsSkipTheRule) {
    std::string keyword;
    EXPECT_EQ(ErrorOf("alert tcp any any -> any 80 (flow:established,to_server; content:\"GET\"; sid:1;)", &keyword),
              "keyword 'flow': flow:established needs sessions");
    EXPECT_EQ(keyword, "flow");
    EXPECT_EQ(ErrorOf("alert http any any -> any any (content:\"x\"; sid:1;)", &keyword),
              "protocol 'http' needs an application-layer parser");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (http.uri; content:\"x\"; sid:1;)", &keyword),
              "keyword 'http.uri' is an application-layer buffer");
    EXPECT_EQ(keyword, "http.uri");
    EXPECT_EQ(ErrorOf("alert tcp any any -> any any (flowbits:set,x; sid:1;)", &keyword),
              "keyword 'flowbits': needs sessions, reassembly or an application-layer parser");
    // flow:stateless and to_server are accepted.
    Parse("alert tcp any any -> any any (flow:stateless; flow:to_server; sid:3;)");
}

TEST(RuleParser, FilesNameTheLineOfEachProblemAndKeepTheRest) {
    RuleSet set;
    ParseRules("# a comment\n"
               "alert tcp any any -> any 23 (msg:\"telnet\"; flags:S; sid:1;)\n"
               "\n"
               "alert tcp any any -> any any (content:\"abc\" sid:2;)\n"
               "# alert udp any any -> any any (sid:9;)\n"
               "alert udp any any -> any 53 (msg:\"two \\\n"
               "  lines\"; sid:3;)\n"
               "alert tcp any any -> any 80 (flow:established; sid:4;)\n",
               "test.rules", ParseOptions{}, set);
    ASSERT_EQ(set.rules.size(), 2u);
    EXPECT_EQ(set.rules[0].line, 2u);
    EXPECT_EQ(set.rules[1].line, 6u);
    EXPECT_EQ(set.rules[1].msg, "two lines");  // continuation lines are joined trimmed
    ASSERT_EQ(set.errors.size(), 1u);
    EXPECT_EQ(set.errors[0].ToString().substr(0, 13), "test.rules:4:");
    ASSERT_EQ(set.skipped.size(), 1u);
    EXPECT_EQ(set.skipped[0].line, 8u);
    EXPECT_EQ(set.skipped[0].keyword, "flow");
    EXPECT_EQ(set.disabled, 1u);
}

TEST(RuleParser, DefaultRuleSetLoadsCleanlyWithACategoryEach) {
    RuleSet set;
    ParseRules(DefaultRulesText(), "darkscope.rules", ParseOptions{}, set);
    EXPECT_TRUE(set.errors.empty()) << set.errors[0].ToString();
    EXPECT_TRUE(set.skipped.empty()) << set.skipped[0].ToString();
    EXPECT_GE(set.rules.size(), 20u);
    bool seen[CATEGORY_COUNT] = {};
    for (const Rule &r : set.rules) {
        EXPECT_FALSE(r.category_name.empty()) << r.sid << " has no darkscope_category";
        seen[int(r.category)] = true;
    }
    for (int c = 1; c < CATEGORY_COUNT; ++c) EXPECT_TRUE(seen[c]) << "no rule in " << CategoryName(Category(c));
}

TEST(RuleParser, ClasstypeMapFromToml) {
    auto path = std::filesystem::temp_directory_path() / "darkscope_classtypes_test.toml";
    {
        std::ofstream out(path);
        out << "[classtypes]\n\"trojan-activity\" = \"Others\"\n\"policy-violation\" = \"UDP spam\"\n";
    }
    ParseOptions options;
    LoadClasstypeMap(path, options);
    EXPECT_EQ(options.classtypes.at("trojan-activity"), Category::OTHERS);
    EXPECT_EQ(options.classtypes.at("policy-violation"), Category::UDP_SPAM);
    {
        std::ofstream out(path);
        out << "[classtypes]\n\"a\" = \"Worm\"\n\"b\" = \"Wormz\"\n";
    }
    try {
        LoadClasstypeMap(path, options);
        FAIL() << "a bad category must throw";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find(":3: classtype 'b'"), std::string::npos) << e.what();
    }
    std::filesystem::remove(path);
}

TEST(RuleParser, EveryKeywordHasADescriptionAndDocAnchor) {
    for (const Keyword &k : Keywords().All()) {
        EXPECT_FALSE(k.description.empty()) << k.name;
        EXPECT_EQ(k.doc.substr(0, 19), "docs/signatures.md#") << k.name;
    }
}

TEST(RuleParser, ExampleClasstypeMapLoads) {
    ParseOptions options;
    LoadClasstypeMap(std::filesystem::path(DARKSCOPE_SOURCE_DIR) / "examples" / "classtypes.toml", options);
    EXPECT_EQ(options.classtypes.at("bad-unknown"), Category::OTHERS);
    EXPECT_EQ(options.classtypes.at("trojan-activity"), Category::WORM);
}
