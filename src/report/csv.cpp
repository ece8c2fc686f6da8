// The report as a folder of CSV files (RFC 4180), one per table of the JSON document (docs/report.md).

#include <fmt/format.h>

#include <fstream>

#include "report/report.hpp"

namespace darkscope {

using nlohmann::json;

// A spreadsheet runs a cell that starts with = + - @ as a formula: text from packets or files (a key,
// a name, a path) gets a leading apostrophe then. Numbers are written as numbers.
std::string CsvField(const json &v) {
    std::string text;
    if (v.is_null()) return "";
    if (v.is_string()) {
        text = v.get<std::string>();
        if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' || text[0] == '\t' ||
                              text[0] == '\r'))
            text.insert(text.begin(), '\'');
    } else if (v.is_number_float()) {
        text = fmt::format("{}", v.get<double>());
    } else {
        text = v.dump();
    }
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

namespace {

class CsvFile {
public:
    CsvFile(const std::filesystem::path &path, const std::vector<std::string> &header) : path_(path), out_(path) {
        if (!out_) throw std::runtime_error(fmt::format("{}: cannot write", path.string()));
        std::vector<json> h(header.begin(), header.end());
        Row(h);
    }
    void Row(const std::vector<json> &fields) {
        for (size_t i = 0; i < fields.size(); ++i) out_ << (i ? "," : "") << CsvField(fields[i]);
        out_ << "\r\n";
    }
    ~CsvFile() = default;
    const std::filesystem::path &Path() const { return path_; }
    void Close() {
        out_.close();
        if (!out_) throw std::runtime_error(fmt::format("{}: write failed", path_.string()));
    }

private:
    std::filesystem::path path_;
    std::ofstream out_;
};

const std::vector<std::string> TABLE_COLUMNS = {"rank",
                                                "previous_rank",
                                                "key",
                                                "name",
                                                "name_ja",
                                                "packets",
                                                "unique_sources",
                                                "per_day_per_ip",
                                                "previous_per_day_per_ip",
                                                "change_per_day_per_ip",
                                                "change_percent",
                                                "increase_rank",
                                                "decrease_rank",
                                                "outside_top",
                                                "share"};

}  // namespace

std::vector<std::filesystem::path> WriteReportCsv(const json &report, const std::filesystem::path &dir) {
    std::filesystem::create_directories(dir);
    std::vector<std::filesystem::path> written;
    auto finish = [&](CsvFile &f) {
        f.Close();
        written.push_back(f.Path());
    };
    auto table = [&](const std::string &name, const json &rows) {
        CsvFile f(dir / (name + ".csv"), TABLE_COLUMNS);
        for (const json &r : rows) {
            std::vector<json> fields;
            for (const std::string &c : TABLE_COLUMNS) fields.push_back(r.value(c, json(nullptr)));
            f.Row(fields);
        }
        finish(f);
    };

    {
        CsvFile f(dir / "overview.csv", {"figure", "value", "previous", "change", "change_percent"});
        const json &o = report.at("overview");
        for (const char *name : {"per_day_per_ip", "unique_sources_per_day"})
            f.Row({name, o.at(name), o.at(std::string("previous_") + name), o.at(std::string("change_") + name),
                   o.at(std::string("change_percent_") + name)});
        f.Row({"packets", o.at("packets"), o.at("previous_packets"), nullptr, nullptr});
        f.Row({"unique_sources", o.at("unique_sources"), o.at("previous_unique_sources"), nullptr, nullptr});
        f.Row({"monitored_addresses", report.at("monitored_addresses"), report.at("previous_monitored_addresses"),
               nullptr, nullptr});
        f.Row({"unattributed_packets", report.at("unattributed_packets"), nullptr, nullptr, nullptr});
        f.Row({"non_ip_frames", report.at("non_ip_frames"), nullptr, nullptr, nullptr});
        finish(f);
    }
    table("services", report.at("services").at("rows"));
    table("regions", report.at("regions").at("rows"));

    auto series = [&](const std::string &name, const json &keys, const json &days) {
        std::vector<std::string> header{"day"};
        for (const json &k : keys) header.push_back(k.at("key").get<std::string>());
        CsvFile f(dir / (name + ".csv"), header);
        for (size_t d = 0; d < days.size(); ++d) {
            std::vector<json> fields{days[d]};
            for (const json &k : keys) fields.push_back(k.at("values").at(d));
            f.Row(fields);
        }
        finish(f);
    };
    const json &s = report.at("series");
    series("series_services", s.at("services"), s.at("days"));
    series("series_regions", s.at("regions"), s.at("days"));
    if (s.contains("categories")) series("series_categories", s.at("categories"), s.at("days"));

    for (const char *what : {"services", "regions", "categories"}) {
        if (!report.at("ratios").contains(what)) continue;
        const json &r = report.at("ratios").at(what);
        CsvFile f(dir / fmt::format("ratios_{}.csv", what), {"sensors", "key", "share"});
        for (const json &col : r.at("columns"))
            for (size_t i = 0; i < r.at("keys").size(); ++i) f.Row({col.at("label"), r.at("keys")[i], col.at("shares")[i]});
        finish(f);
    }
    {
        CsvFile f(dir / "region_service_mix.csv", {"region", "service", "packets", "share"});
        for (const json &region : report.at("region_service_mix"))
            for (const json &svc : region.at("services"))
                f.Row({region.at("key"), svc.at("key"), svc.at("packets"), svc.at("share")});
        finish(f);
    }
    {
        const json &b = report.at("backscatter");
        CsvFile f(dir / "backscatter_daily.csv", {"day", "packets", "unique_sources"});
        for (size_t d = 0; d < s.at("days").size(); ++d)
            f.Row({s.at("days")[d], b.at("series").at("packets").at(d), b.at("series").at("unique_sources").at(d)});
        finish(f);
        table("backscatter_by_source_port", b.at("by_source_port"));
        table("backscatter_by_region", b.at("by_region"));
    }
    {
        const json &d = report.at("dns");
        CsvFile f(dir / "dns_daily.csv", {"day", "queries", "responses"});
        for (size_t i = 0; i < s.at("days").size(); ++i)
            f.Row({s.at("days")[i], d.at("series").at("queries").at(i), d.at("series").at("responses").at(i)});
        finish(f);
        table("dns_responses_by_region", d.at("responses_by_region"));
    }
    if (!report.at("signatures").is_null()) {
        table("signature_categories", report.at("signatures").at("categories"));
        table("signature_regions", report.at("signatures").at("regions"));
    }
    {
        CsvFile f(dir / "decode_events.csv", {"event", "count"});
        for (const json &e : report.at("decode_events")) f.Row({e.at("name"), e.at("count")});
        finish(f);
    }
    {
        CsvFile f(dir / "sensors.csv", {"name", "networks", "location", "provider", "addresses", "implicit"});
        for (const json &x : report.at("sensors"))
            f.Row({x.at("name"), x.at("networks"), x.at("location"), x.at("provider"), x.at("addresses"), x.at("implicit")});
        finish(f);
    }
    {
        CsvFile f(dir / "files.csv", {"path", "packets", "first", "last", "status", "message"});
        for (const json &x : report.at("data_sources").at("files"))
            f.Row({x.at("path"), x.at("packets"), x.at("first"), x.at("last"), x.at("status"), x.at("message")});
        finish(f);
    }
    return written;
}

}  // namespace darkscope
