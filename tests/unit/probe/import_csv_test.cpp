#include "probe/import_csv.hpp"

#include <gtest/gtest.h>

namespace darkscope::probe {

TEST(ImportCsv, QuotedFieldsCommasQuotesAndLineBreaks) {
    auto got = ParseResolverVerdictsCsv(
        "\xEF\xBB\xBF"
        "Address,Status,Detail\r\n"
        "45.33.32.156,open,\"answer: \"\"open-resolver-detected\"\"\"\r\n"
        "8.8.8.8 , not-open ,\"rcode REFUSED, RA=0\"\r\n"
        "\r\n"
        "2001:4860::1,no-answer,\"two\nlines\"\n"
        "1.1.1.1,OPEN,\n",
        "list.csv");
    ASSERT_TRUE(got.errors.empty()) << got.errors[0];
    ASSERT_EQ(got.rows.size(), 4u);
    EXPECT_EQ(got.rows[0].address.ToString(), "45.33.32.156");
    EXPECT_EQ(got.rows[0].detail, "answer: \"open-resolver-detected\"");
    EXPECT_EQ(got.rows[1].status, "not-open");
    EXPECT_EQ(got.rows[1].detail, "rcode REFUSED, RA=0");
    EXPECT_EQ(got.rows[2].detail, "two\\x0alines");  // stored escaped
    EXPECT_EQ(got.rows[3].status, "open");
    EXPECT_EQ(got.rows[3].detail, "imported");
}

TEST(ImportCsv, TwoColumnHeader) {
    auto got = ParseResolverVerdictsCsv("address,status\n45.33.32.156,open\n", "t.csv");
    ASSERT_TRUE(got.errors.empty());
    ASSERT_EQ(got.rows.size(), 1u);
    EXPECT_EQ(got.rows[0].detail, "imported");
}

TEST(ImportCsv, BadLinesAreNamedWithFileAndLine) {
    auto got = ParseResolverVerdictsCsv(
        "address,status,detail\n"
        "45.33.32.156,open,ok\n"
        "\"8.8.8.8\n\",open,x\n"  // a quoted field over two lines: the record starts on line 3
        "999.1.1.1,open,x\n"
        "1.1.1.1,maybe,x\n"
        "1.1.1.1,open\n",
        "bad.csv");
    ASSERT_EQ(got.errors.size(), 4u);
    EXPECT_EQ(got.errors[0], "bad.csv:3: '8.8.8.8\\x0a' is not an IPv4 or IPv6 address");
    EXPECT_EQ(got.errors[1], "bad.csv:5: '999.1.1.1' is not an IPv4 or IPv6 address");
    EXPECT_EQ(got.errors[2], "bad.csv:6: status 'maybe': expected open, not-open or no-answer");
    EXPECT_EQ(got.errors[3], "bad.csv:7: 2 fields, expected 3 (address,status,detail)");
}

TEST(ImportCsv, BrokenCsvAndWrongHeaders) {
    EXPECT_EQ(ParseResolverVerdictsCsv("address,status\n1.1.1.1,\"open\n", "q.csv").errors.at(0),
              "q.csv:2: a quoted field opened here is never closed");
    EXPECT_EQ(ParseResolverVerdictsCsv("address,status\n1.1.1.1,\"open\"x\n", "q.csv").errors.at(0),
              "q.csv:2: text after the closing quote of a field");
    EXPECT_EQ(ParseResolverVerdictsCsv("address,status\n1.1.1.1,op\"en\n", "q.csv").errors.at(0),
              "q.csv:2: a quote inside an unquoted field (quote the whole field and double the quotes in it)");
    EXPECT_EQ(ParseResolverVerdictsCsv("ip,verdict\n1.1.1.1,open\n", "h.csv").errors.at(0),
              "h.csv:1: header 'ip,verdict': expected address,status or address,status,detail");
    EXPECT_EQ(ParseResolverVerdictsCsv("", "e.csv").errors.at(0),
              "e.csv: empty: expected the header address,status[,detail]");
    EXPECT_EQ(ReadResolverVerdictsCsv("/nonexistent.csv").errors.at(0), "/nonexistent.csv: cannot open");
    // A file of the wrong kind gives a bounded list of errors.
    std::string many = "address,status\n";
    for (int i = 0; i < 100; ++i)
        many += "x,y\n";
    EXPECT_EQ(ParseResolverVerdictsCsv(many, "m.csv").errors.size(), 21u);
}

}  // namespace darkscope::probe
