// The Markdown and HTML writers over a hand-made report (fixtures/report_small.json, docs/report.md's shape):
// numbers as the NPA tables write them, Japanese labels, and no data string that escapes its place.
#include <gtest/gtest.h>

#include <fstream>

#include "report/html.hpp"
#include "report/labels.hpp"
#include "report/markdown.hpp"

namespace darkscope {
namespace {

nlohmann::json Fixture() {
    std::ifstream f(std::string(DARKSCOPE_SOURCE_DIR) + "/tests/unit/report/fixtures/report_small.json");
    EXPECT_TRUE(f) << "fixture missing";
    return nlohmann::json::parse(f);
}

bool Has(const std::string &text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

TEST(ReportLabels, ParseLangAndLabels) {
    EXPECT_EQ(ParseReportLang("ja"), ReportLang::JA);
    EXPECT_EQ(ParseReportLang("EN"), ReportLang::EN);
    EXPECT_FALSE(ParseReportLang("fr"));
    EXPECT_EQ(Label("destination_port", ReportLang::JA), "宛先ポート番号");
    EXPECT_EQ(Label("no_such_label", ReportLang::EN), "no_such_label");  // shows, never empty
}

TEST(ReportLabels, NumbersAsTheSeedsWriteThem) {
    EXPECT_EQ(FormatNumber(12161.84, 1), "12,161.8");
    EXPECT_EQ(FormatNumber(533.7, 1), "533.7");
    EXPECT_EQ(FormatNumber(std::nullopt, 1), NO_VALUE);
    EXPECT_EQ(FormatSigned(-26.73, 2), "-26.73");
    EXPECT_EQ(FormatSigned(1257.6, 1), "+1,257.6");
    EXPECT_EQ(FormatSigned(0.0, 2), "0.00");
    EXPECT_EQ(FormatSigned(-1e-12, 2), "0.00");  // below six decimals: no "-0.00"
    // A small telescope's figures keep two significant digits where two decimals would show zero.
    EXPECT_EQ(FormatSigned(-0.001, 2), "-0.0010");
    EXPECT_EQ(FormatNumber(0.000473, 2), "0.00047");
    EXPECT_EQ(FormatNumber(0.034, 2), "0.03");
    EXPECT_EQ(FormatSignedPercent(-15.3), "-15.3%");
    EXPECT_EQ(FormatShare(0.2345), "23.4%");
    EXPECT_EQ(FormatRank(3, ReportLang::JA), "3位");
    EXPECT_EQ(FormatChangeCell(22.67, std::nullopt, ReportLang::JA), "新規 (+22.67 件)");
    EXPECT_EQ(PerDayPerIpSentence(533.7, 101.4, 23.4, ReportLang::EN),
              "533.7 packets per day per IP, up 101.4 (23.4%) from the previous period");
    EXPECT_EQ(PerDayPerIpSentence(533.7, 101.4, 23.4, ReportLang::JA),
              "一日・1IP当たり 533.7 件で、前期と比較して 101.4 件 (23.4%) 増加した");
    EXPECT_EQ(PerDayPerIpSentence(15.2, -5.6, -26.9, ReportLang::JA),
              "一日・1IP当たり 15.2 件で、前期と比較して 5.6 件 (26.9%) 減少した");
    EXPECT_EQ(PerDayPerIpSentence(1.0, std::nullopt, std::nullopt, ReportLang::EN),
              "1.0 packets per day per IP, the previous period has no data");
}

TEST(ReportMarkdown, TablesAndSentences) {
    const std::string md = ReportToMarkdown(Fixture(), ReportLang::EN);
    EXPECT_TRUE(Has(md, "533.7 packets per day per IP, up 101.4 (23.4%) from the previous period"));
    EXPECT_TRUE(Has(md, "| 1 | 2 | 23/TCP | 446.43 | +60.0% (+167.41) | 1 |  |"));
    EXPECT_TRUE(Has(md, "| 2 | — | 445/TCP | 83.71 | new (+83.71) | 2 |  |"));  // new key: no previous rank
    EXPECT_TRUE(Has(md, "| 3 † | 1 | 5000/TCP | 27.90 | -75.0% (-83.71) |  | 1 |"));  // outside the top 2
    EXPECT_TRUE(Has(md, "outside the top 2"));
    EXPECT_TRUE(Has(md, "| 2 | microsoft-ds (445/TCP) | outside top 2 |"));  // TSUBAME form
    EXPECT_TRUE(Has(md, "| Japan (JP) | 334.82 |"));
    EXPECT_TRUE(Has(md, "| 2024-12-22 | 575.25 | 91.00 | 45.30 |"));
    EXPECT_TRUE(Has(md, "| 23/TCP | 80.0% | 70.0% |"));
    EXPECT_TRUE(Has(md, "No signature rule ran"));
    EXPECT_TRUE(Has(md, "No detector has run"));
    EXPECT_TRUE(Has(md, "| decode.ipv4.truncated | 12 |"));
    // Section order follows docs/report.md.
    EXPECT_LT(md.find("## Overview"), md.find("## By destination port"));
    EXPECT_LT(md.find("## Ratios"), md.find("## DoS attack victims"));
    EXPECT_LT(md.find("## Notable phenomena"), md.find("## Data sources"));
}

TEST(ReportMarkdown, JapaneseLabels) {
    const std::string md = ReportToMarkdown(Fixture(), ReportLang::JA);
    for (std::string_view term : {"宛先ポート番号", "送信元地域", "前期比", "今期順位", "前期順位", "増加順位", "減少順位",
                                  "注目された現象", "アクセス件数", "発信元IPアドレス数", "その他", "圏外",
                                  "DoS攻撃被害観測状況", "SYN/ACK及びRST/ACKパケット", "日本 (JP)", "TOP2 外"})
        EXPECT_TRUE(Has(md, term)) << term;
    EXPECT_TRUE(Has(md, "一日・1IP当たり 533.7 件で、前期と比較して 101.4 件 (23.4%) 増加した"));
    EXPECT_TRUE(Has(md, "| 1位 | 2位 | 23/TCP | 446.43 | +60.0% (+167.41 件) | 1位 |  |"));
}

TEST(ReportMarkdown, DataCannotBreakTablesOrInjectHtml) {
    const std::string md = ReportToMarkdown(Fixture(), ReportLang::EN);
    EXPECT_FALSE(Has(md, "<script"));
    EXPECT_TRUE(Has(md, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    EXPECT_TRUE(Has(md, "/captures/w51/a\\|b&amp;c.pcap"));
    EXPECT_EQ(MarkdownEscape("a|b\nc*d_[e]`"), "a\\|b c\\*d\\_\\[e\\]\\`");
}

TEST(ReportMarkdown, TsubameFormSaysNoDataWhenThePreviousPeriodIsEmpty) {
    nlohmann::json report = Fixture();
    report["overview"]["previous_packets"] = 0;  // a telescope's first period
    const std::string md = ReportToMarkdown(report, ReportLang::EN);
    EXPECT_TRUE(Has(md, "| 2 | microsoft-ds (445/TCP) | no data |"));
    EXPECT_FALSE(Has(md, "| outside top 2 |"));
    EXPECT_TRUE(Has(ReportToMarkdown(report, ReportLang::JA), "| データなし |"));
}

TEST(ReportMarkdown, SignaturesTablesWhenRulesRan) {
    nlohmann::json report = Fixture();
    report["signatures"] = {{"packets_per_day_per_ip", 15.2},
                            {"previous_packets_per_day_per_ip", 20.8},
                            {"change_packets_per_day_per_ip", -5.6},
                            {"change_percent_packets_per_day_per_ip", -26.9},
                            {"categories", {{{"key", "Scan(P2P)"}, {"rank", 1}, {"previous_rank", 1},
                                             {"per_day_per_ip", 7.64}, {"change_per_day_per_ip", -4.7},
                                             {"change_percent", -38.1}, {"increase_rank", nullptr},
                                             {"decrease_rank", 1}, {"outside_top", false}}}},
                            {"regions", nlohmann::json::array()}};
    const std::string md = ReportToMarkdown(report, ReportLang::JA);
    EXPECT_TRUE(Has(md, "表 3-1 シグネチャを用いた不正侵入等の攻撃手法別検知件数"));
    EXPECT_TRUE(Has(md, "| 1位 | 1位 | Scan(P2P) | 7.64 | -38.1% (-4.70 件) |  | 1位 |"));
    EXPECT_TRUE(Has(md, "一日・1IP当たり 15.2 件で、前期と比較して 5.6 件 (26.9%) 減少した"));
}

TEST(ReportMarkdown, MissingFieldsShowAsNoValue) {
    const std::string md = ReportToMarkdown(nlohmann::json::object(), ReportLang::EN);
    EXPECT_TRUE(Has(md, "— packets per day per IP, the previous period has no data"));
    EXPECT_TRUE(Has(md, "No detector has run"));
}

TEST(ReportHtml, SelfContainedAndEscaped) {
    const std::string page = ReportToHtml(Fixture(), ReportLang::EN, "var echarts = {s: '</script><b>x'};");
    EXPECT_TRUE(Has(page, "<html lang=\"en\">"));
    EXPECT_TRUE(Has(page, "<meta charset=\"utf-8\">"));
    EXPECT_TRUE(Has(page, "@page { size: A4; margin: 15mm }"));
    EXPECT_TRUE(Has(page, "renderer: 'svg'"));
    EXPECT_TRUE(Has(page, "animation: false"));
    EXPECT_FALSE(Has(page, "http://"));
    EXPECT_FALSE(Has(page, "https://"));
    // The sensor name only escaped: in the tables as references, in the JSON as \u escapes.
    EXPECT_FALSE(Has(page, "<script>alert"));
    EXPECT_TRUE(Has(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    EXPECT_TRUE(Has(page, "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
    EXPECT_TRUE(Has(page, "/captures/w51/a|b&amp;c.pcap"));
    // The library's own "</script" cannot close its element.
    EXPECT_FALSE(Has(page, "'</script><b>x'"));
    EXPECT_TRUE(Has(page, "'<\\/script><b>x'"));
    EXPECT_TRUE(Has(page, "<td>+60.0% (+167.41)</td>"));
    EXPECT_TRUE(Has(page, "533.7 packets per day per IP, up 101.4 (23.4%) from the previous period"));
    for (std::string_view chart : {"series-services", "series-regions", "ratio-services", "ratio-regions",
                                   "region-service-mix", "backscatter-series", "dns-series"})
        EXPECT_TRUE(Has(page, "data-chart=\"" + std::string(chart) + "\"")) << chart;
}

TEST(ReportHtml, JapaneseAndNoLibrary) {
    const std::string page = ReportToHtml(Fixture(), ReportLang::JA, "");
    EXPECT_TRUE(Has(page, "<html lang=\"ja\">"));
    EXPECT_TRUE(Has(page, "注目された現象"));
    EXPECT_TRUE(Has(page, "一日・1IP当たり 533.7 件で、前期と比較して 101.4 件 (23.4%) 増加した"));
    EXPECT_FALSE(Has(page, "class=\"chart-box\""));  // no library, no empty chart boxes
    EXPECT_TRUE(Has(page, "ECharts"));               // ... and a line that says why
}

TEST(ReportHtml, ScriptEscapes) {
    EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    EXPECT_EQ(ScriptSafeJson(nlohmann::json("</script>&\u2028\u2029")),
              "\"\\u003c/script\\u003e\\u0026\\u2028\\u2029\"");
    EXPECT_EQ(ScriptSafeSource("a='</SCRIPT>'; b='<!--'"), "a='<\\/SCRIPT>'; b='<\\!--'");
}

}  // namespace
}  // namespace darkscope
