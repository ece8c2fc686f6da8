#include "report/report_view.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <utility>

namespace darkscope::detail {

namespace {

using nlohmann::json;

// Longer periods than this show their daily series as means of 7-day blocks in a table (a quarter
// would be 90 rows); the HTML charts always show every day.
constexpr size_t MAX_TABLE_DAYS = 31;
// The TSUBAME form lists the top 5, as the JPCERT/CC report's Table 1 does.
constexpr int64_t TSUBAME_ROWS = 5;

const json &Null() {
    static const json null_json;
    return null_json;
}

const json &EmptyArray() {
    static const json empty = json::array();
    return empty;
}

// The member, or null when the field is absent or `j` is no object: the writers take the JSON as it
// comes and show NO_VALUE for what is missing rather than throw.
const json &At(const json &j, const std::string &key) {
    if (!j.is_object()) return Null();
    auto it = j.find(key);
    return it == j.end() ? Null() : *it;
}

std::optional<double> Num(const json &j) {
    if (j.is_number()) return j.get<double>();
    return std::nullopt;
}

std::optional<int64_t> Int(const json &j) {
    if (j.is_number_integer()) return j.get<int64_t>();
    if (j.is_number_float()) return std::llround(j.get<double>());
    return std::nullopt;
}

std::string Str(const json &j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_null()) return "";
    return j.dump();
}

bool Truthy(const json &j) {
    if (j.is_boolean()) return j.get<bool>();
    if (j.is_number()) return j.get<double>() != 0;
    return false;
}

// Table rows, given as an array or as `{rows: [...]}` (services and regions are the latter).
const json &Rows(const json &j) {
    if (j.is_array()) return j;
    const json &rows = At(j, "rows");
    return rows.is_array() ? rows : EmptyArray();
}

std::string Join(const std::vector<std::string> &parts, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : "") + parts[i];
    return out;
}

std::string_view End(ReportLang lang) {
    return lang == ReportLang::JA ? "。" : ".";
}

// A figure and its comparison, named as docs/report.md names them: F, previous_F, change_F, change_percent_F.
struct Figure {
    std::optional<double> value, previous, change, change_percent;
};

Figure Fig(const json &obj, const std::string &name) {
    return {Num(At(obj, name)), Num(At(obj, "previous_" + name)), Num(At(obj, "change_" + name)),
            Num(At(obj, "change_percent_" + name))};
}

std::string PerDaySentence(const Figure &f, std::string_view unit_ja, ReportLang lang) {
    const std::string phrase = ChangePhrase(f.change, f.change_percent, unit_ja, lang);
    if (lang == ReportLang::JA) return fmt::format("一日当たり {} {}で、{}", FormatNumber(f.value, 1), unit_ja, phrase);
    return fmt::format("{} per day, {}", FormatNumber(f.value, 1), phrase);
}

// "Japan (JP)" / "日本 (JP)"; the key alone when the row has no name.
std::string RegionName(const json &row, ReportLang lang) {
    const std::string key = Str(At(row, "key"));
    std::string name = lang == ReportLang::JA ? Str(At(row, "name_ja")) : "";
    if (name.empty()) name = Str(At(row, "name"));
    return name.empty() ? key : fmt::format("{} ({})", name, key);
}

// "telnet (23/TCP)" as TSUBAME writes it; the key alone when IANA has no name.
std::string ServiceName(const json &row) {
    const std::string key = Str(At(row, "key")), name = Str(At(row, "name"));
    return name.empty() ? key : fmt::format("{} ({})", name, key);
}

enum class KeyStyle { PLAIN, REGION };

std::string KeyCell(const json &row, KeyStyle style, ReportLang lang) {
    return style == KeyStyle::REGION ? RegionName(row, lang) : Str(At(row, "key"));
}

// A region key's display name, from the regions table (the ratio tables carry keys only).
std::string RegionKeyName(const json &report, const std::string &key, ReportLang lang) {
    for (const json &row : Rows(At(report, "regions")))
        if (Str(At(row, "key")) == key) return RegionName(row, lang);
    return key;
}

ViewBlock Paragraph(std::string text) {
    while (!text.empty() && text.back() == ' ') text.pop_back();
    ViewBlock b;
    b.text = std::move(text);
    return b;
}

ViewBlock Chart(std::string id, std::string caption) {
    ViewBlock b;
    b.kind = ViewBlock::Kind::CHART;
    b.chart = std::move(id);
    b.text = std::move(caption);
    return b;
}

ViewBlock List(std::vector<std::string> items) {
    ViewBlock b;
    b.kind = ViewBlock::Kind::LIST;
    b.items = std::move(items);
    return b;
}

// A table, or a line saying it has no rows.
void AddTable(ViewSection &section, ViewTable table, ReportLang lang) {
    if (table.rows.empty()) {
        section.blocks.push_back(Paragraph(fmt::format("{}: {}", table.caption, Label("none", lang))));
        return;
    }
    ViewBlock b;
    b.kind = ViewBlock::Kind::TABLE;
    b.table = std::move(table);
    section.blocks.push_back(std::move(b));
}

// NPA Table 2-1 / 2-2 / 3-1 / 3-2: rank, previous rank, key, per day per IP, change, increase and
// decrease rank; rows outside the top N marked with † and a note.
ViewTable RankTable(const json &rows, std::string caption, std::string_view key_label, KeyStyle style, ReportLang lang,
                    int64_t top) {
    ViewTable t;
    t.caption = std::move(caption);
    t.header = {std::string(Label("rank", lang)),          std::string(Label("previous_rank", lang)),
                std::string(key_label),                    std::string(Label("count_per_day_per_ip", lang)),
                std::string(Label("change_per_day_per_ip", lang)), std::string(Label("increase_rank", lang)),
                std::string(Label("decrease_rank", lang))};
    bool any_outside = false;
    for (const json &row : Rows(rows)) {
        const bool outside = Truthy(At(row, "outside_top"));
        any_outside |= outside;
        const auto blank_if_null = [&](const json &rank) { return rank.is_null() ? std::string() : FormatRank(Int(rank), lang); };
        t.rows.push_back({FormatRank(Int(At(row, "rank")), lang) + (outside ? " †" : ""),
                          FormatRank(Int(At(row, "previous_rank")), lang), KeyCell(row, style, lang),
                          FormatNumber(Num(At(row, "per_day_per_ip")), 2),
                          FormatChangeCell(Num(At(row, "change_per_day_per_ip")), Num(At(row, "change_percent")), lang),
                          blank_if_null(At(row, "increase_rank")), blank_if_null(At(row, "decrease_rank"))});
    }
    if (any_outside) t.notes.push_back(fmt::format(fmt::runtime(Label("outside_top_note", lang)), top));
    return t;
}

// JPCERT/CC TSUBAME's Table 1 / 2: rank, the service or region, the previous rank or "outside top N"; "no data"
// when the previous period holds no packets at all (a telescope's first period), where "outside" would mislead.
ViewTable TsubameTable(const json &rows, std::string caption, std::string_view key_label, bool regions,
                       ReportLang lang, int64_t top, bool previous_empty) {
    ViewTable t;
    t.caption = std::move(caption);
    t.header = {std::string(Label("tsubame_rank", lang)), std::string(key_label),
                std::string(Label("tsubame_previous_rank", lang))};
    for (const json &row : Rows(rows)) {
        const auto rank = Int(At(row, "rank"));
        if (Truthy(At(row, "outside_top")) || !rank || *rank > TSUBAME_ROWS) continue;
        const auto previous = Int(At(row, "previous_rank"));
        t.rows.push_back({fmt::format("{}", *rank), regions ? RegionName(row, lang) : ServiceName(row),
                          previous_empty                 ? std::string(Label("no_previous_data", lang))
                          : previous && *previous <= top ? fmt::format("{}", *previous)
                                                         : OutsideTop(top, lang)});
    }
    return t;
}

// The overview-style figures side by side with the previous period.
ViewTable FiguresTable(const json &obj, ReportLang lang) {
    static const std::pair<const char *, int> FIGURES[] = {
        {"packets", 0}, {"bytes", 0}, {"unique_sources", 0}, {"per_day_per_ip", 2}, {"unique_sources_per_day", 1}};
    ViewTable t;
    t.header = {std::string(Label("figure", lang)), std::string(Label("this_period", lang)),
                std::string(Label("previous", lang)), std::string(Label("change", lang)),
                std::string(Label("change_percent", lang))};
    for (const auto &[name, decimals] : FIGURES) {
        const Figure f = Fig(obj, name);
        if (!f.value) continue;
        t.rows.push_back({std::string(Label(name, lang)), FormatNumber(f.value, decimals),
                          FormatNumber(f.previous, decimals), FormatSigned(f.change, decimals),
                          FormatSignedPercent(f.change_percent)});
    }
    return t;
}

// Days x named value arrays; a period longer than MAX_TABLE_DAYS as means of 7-day blocks (said in a note).
ViewTable SeriesTable(const json &days, const std::vector<std::pair<std::string, const json *>> &columns,
                      int decimals, ReportLang lang) {
    ViewTable t;
    const bool weekly = days.size() > MAX_TABLE_DAYS;
    t.header.push_back(std::string(Label(weekly ? "week_from" : "day", lang)));
    for (const auto &column : columns) t.header.push_back(column.first);
    const size_t step = weekly ? 7 : 1;
    for (size_t first = 0; first < days.size(); first += step) {
        std::vector<std::string> cells{Str(days[first])};
        for (const auto &column : columns) {
            double sum = 0;
            size_t n = 0;
            const json &values = *column.second;
            for (size_t i = first; i < std::min(first + step, days.size()); ++i) {
                if (!values.is_array() || i >= values.size()) continue;
                if (auto v = Num(values[i])) {
                    sum += *v;
                    ++n;
                }
            }
            cells.push_back(n ? FormatNumber(sum / double(n), decimals) : std::string(NO_VALUE));
        }
        t.rows.push_back(std::move(cells));
    }
    if (weekly) t.notes.push_back(std::string(Label("series_weekly", lang)));
    return t;
}

// The days of a series block: its own `days`, else the report's `series.days`.
const json &DaysOf(const json &report, const json &series) {
    const json &own = At(series, "days");
    if (own.is_array()) return own;
    const json &shared = At(At(report, "series"), "days");
    return shared.is_array() ? shared : EmptyArray();
}

std::string PeriodText(const json &p, ReportLang lang) {
    const std::string label = Str(At(p, "label")), from = Str(At(p, "from")), to = Str(At(p, "to"));
    const std::string days = FormatNumber(Num(At(p, "days")), 0);
    if (lang == ReportLang::JA) return fmt::format("{}（{}〜{}、{}日間）", label, from, to, days);
    return fmt::format("{} ({} to {}, {} days)", label, from, to, days);
}

// "Label: value. " / "ラベル：値。"
std::string Fact(std::string_view label_id, const std::string &value, ReportLang lang) {
    if (lang == ReportLang::JA) return fmt::format("{}：{}。", Label(label_id, lang), value);
    return fmt::format("{}: {}. ", Label(label_id, lang), value);
}

ViewSection PeriodSection(const json &report, ReportLang lang) {
    ViewSection s{"period", std::string(Label("period_and_sensors", lang)), 2, {}};
    s.blocks.push_back(Paragraph(
        Fact("period", PeriodText(At(report, "period"), lang), lang) +
        Fact("previous_period", PeriodText(At(report, "previous"), lang), lang) +
        Fact("monitored_addresses",
             FormatNumber(Num(At(report, "monitored_addresses")), 0) + " / " +
                 FormatNumber(Num(At(report, "previous_monitored_addresses")), 0),
             lang)));
    s.blocks.push_back(Paragraph(Fact("generated_at", Str(At(report, "generated_at")), lang) +
                                 Fact("store", Str(At(report, "store")), lang)));
    const json &group = At(report, "sensor_group");
    if (!group.is_null()) {
        std::vector<std::string> selectors, sensors;
        for (const json &v : At(group, "selectors").is_array() ? At(group, "selectors") : EmptyArray())
            selectors.push_back(Str(v));
        for (const json &v : At(group, "sensors").is_array() ? At(group, "sensors") : EmptyArray())
            sensors.push_back(Str(v));
        s.blocks.push_back(
            Paragraph(Fact("sensor_group", fmt::format("{} → {}", Join(selectors, ", "), Join(sensors, ", ")), lang)));
    }
    ViewTable t;
    t.caption = std::string(Label("sensors", lang));
    t.header = {std::string(Label("sensor", lang)), std::string(Label("networks", lang)),
                std::string(Label("location", lang)), std::string(Label("provider", lang)),
                std::string(Label("addresses", lang))};
    for (const json &sensor : Rows(At(report, "sensors"))) {
        std::vector<std::string> networks;
        const json &nets = At(sensor, "networks");
        if (nets.is_array())
            for (const json &n : nets) networks.push_back(Str(n));
        else
            networks.push_back(Str(nets));
        std::string name = Str(At(sensor, "name"));
        if (Truthy(At(sensor, "implicit"))) name += " " + std::string(Label("implicit", lang));
        t.rows.push_back({name, Join(networks, ", "), Str(At(sensor, "location")), Str(At(sensor, "provider")),
                          FormatNumber(Num(At(sensor, "addresses")), 0)});
    }
    AddTable(s, std::move(t), lang);
    return s;
}

// "445/TCP, 11/ICMP, ..." of the top rows (outside-top rows left out).
std::string TopKeys(const json &rows, bool regions, ReportLang lang) {
    std::vector<std::string> keys;
    for (const json &row : Rows(rows)) {
        if (Truthy(At(row, "outside_top")) || keys.size() == size_t(TSUBAME_ROWS)) continue;
        keys.push_back(regions ? RegionName(row, lang) : Str(At(row, "key")));
    }
    if (keys.empty()) return std::string(Label("none", lang));
    return lang == ReportLang::JA ? Join(keys, "、") + "の順であった" : Join(keys, ", ");
}

ViewSection OverviewSection(const json &report, ReportLang lang) {
    const json &ov = At(report, "overview");
    ViewSection s{"overview", std::string(Label("overview", lang)), 2, {}};
    const Figure rate = Fig(ov, "per_day_per_ip");
    s.blocks.push_back(Paragraph(fmt::format("{}{}{}", Label("overview_packets", lang),
                                             PerDayPerIpSentence(rate.value, rate.change, rate.change_percent, lang),
                                             End(lang))));
    s.blocks.push_back(Paragraph(fmt::format("{}{}{}", Label("overview_sources", lang),
                                             PerDaySentence(Fig(ov, "unique_sources_per_day"), "個", lang), End(lang))));
    s.blocks.push_back(Paragraph(
        fmt::format("{}{}{}", Label("top_services", lang), TopKeys(At(report, "services"), false, lang), End(lang))));
    s.blocks.push_back(Paragraph(
        fmt::format("{}{}{}", Label("top_regions", lang), TopKeys(At(report, "regions"), true, lang), End(lang))));
    AddTable(s, FiguresTable(ov, lang), lang);
    return s;
}

ViewSection RankSection(const json &report, const char *field, ReportLang lang, int64_t top) {
    const bool regions = std::string_view(field) == "regions";
    const json &rows = At(report, field);
    ViewSection s{field, std::string(Label(field, lang)), 2, {}};
    AddTable(s,
             TsubameTable(rows, std::string(Label(regions ? "regions_tsubame" : "services_tsubame", lang)),
                          Label(regions ? "source_region" : "destination_port", lang), regions, lang, top,
                          Int(At(At(report, "overview"), "previous_packets")).value_or(0) == 0),
             lang);
    AddTable(s,
             RankTable(rows, std::string(Label(regions ? "regions_table" : "services_table", lang)),
                       Label(regions ? "region" : "port", lang), regions ? KeyStyle::REGION : KeyStyle::PLAIN, lang,
                       top),
             lang);
    return s;
}

void AddSeriesPart(std::vector<ViewSection> &out, const json &report, const char *field, ReportLang lang) {
    const json &series = At(report, "series");
    const bool regions = std::string_view(field) == "regions";
    const std::string title(Label(std::string("series_") + field, lang));
    ViewSection s{std::string("series-") + field, title, 3, {}};
    std::vector<std::pair<std::string, const json *>> columns;
    for (const json &entry : Rows(At(series, field)))
        columns.emplace_back(regions ? RegionName(entry, lang) : Str(At(entry, "key")), &At(entry, "values"));
    if (columns.empty()) {
        s.blocks.push_back(Paragraph(fmt::format("{}: {}", title, Label("none", lang))));
    } else {
        s.blocks.push_back(Chart(std::string("series-") + field, title));
        AddTable(s, SeriesTable(DaysOf(report, series), columns, 2, lang), lang);
    }
    out.push_back(std::move(s));
}

// The shares of each key (and `others`) in each group of sensors: keys down, groups across.
void AddRatioPart(std::vector<ViewSection> &out, const json &report, const char *field, ReportLang lang) {
    const json &ratio = At(At(report, "ratios"), field);
    const bool regions = std::string_view(field) == "regions", categories = std::string_view(field) == "categories";
    const std::string title(Label(std::string("ratio_") + field, lang));
    ViewSection s{std::string("ratio-") + field, title, 3, {}};
    ViewTable t;  // no caption: the heading above says it
    t.header.push_back(std::string(Label(regions ? "region" : categories ? "category" : "port", lang)));
    std::vector<const json *> shares;
    std::vector<std::string> group_sensors;
    for (const json &column : Rows(At(ratio, "columns"))) {
        std::string label = Str(At(column, "label"));
        t.header.push_back(label.empty() ? std::string(Label("all_sensors", lang)) : label);
        shares.push_back(&At(column, "shares"));
        std::vector<std::string> names;
        if (At(column, "sensors").is_array())
            for (const json &n : At(column, "sensors")) names.push_back(Str(n));
        group_sensors.push_back(fmt::format("{}: {}", t.header.back(), Join(names, ", ")));
    }
    std::vector<std::string> keys;
    for (const json &k : Rows(At(ratio, "keys"))) keys.push_back(Str(k));
    size_t rows = keys.size();
    for (const json *col : shares) rows = std::max(rows, col->is_array() ? col->size() : 0);  // `others` last
    for (size_t i = 0; i < rows; ++i) {
        const std::string key = i < keys.size() ? keys[i] : "others";
        std::vector<std::string> cells{key == "others"  ? std::string(Label("others", lang))
                                       : regions        ? RegionKeyName(report, key, lang)
                                                        : key};
        for (const json *col : shares) cells.push_back(FormatShare(col->is_array() && i < col->size() ? Num((*col)[i]) : std::nullopt));
        t.rows.push_back(std::move(cells));
    }
    t.notes.push_back(std::string(Label("ratio_note", lang)));
    if (!t.rows.empty()) s.blocks.push_back(Chart(std::string("ratio-") + field, title));
    AddTable(s, std::move(t), lang);
    if (!group_sensors.empty()) s.blocks.push_back(List(std::move(group_sensors)));
    out.push_back(std::move(s));
}

ViewSection MixSection(const json &report, ReportLang lang) {
    const std::string title(Label("region_service_mix", lang));
    ViewSection s{"region_service_mix", title, 2, {}};
    ViewTable t;  // no caption: the heading above says it
    t.header = {std::string(Label("region", lang)), std::string(Label("packets", lang)),
                std::string(Label("services_share", lang))};
    for (const json &region : Rows(At(report, "region_service_mix"))) {
        std::vector<std::string> parts;
        for (const json &service : Rows(At(region, "services"))) {
            const std::string key = Str(At(service, "key"));
            parts.push_back(fmt::format("{} {}", key == "others" ? std::string(Label("others", lang)) : key,
                                        FormatShare(Num(At(service, "share")))));
        }
        t.rows.push_back({RegionName(region, lang), FormatNumber(Num(At(region, "packets")), 0),
                          Join(parts, lang == ReportLang::JA ? "、" : ", ")});
    }
    if (!t.rows.empty()) s.blocks.push_back(Chart("region-service-mix", title));
    AddTable(s, std::move(t), lang);
    // The flow from the top regions to the sensors: a chart in HTML, its largest links as a table.
    ViewTable flow;
    flow.caption = std::string(Label("flow", lang));
    flow.header = {std::string(Label("region", lang)), std::string(Label("sensor", lang)),
                   std::string(Label("packets", lang))};
    for (const json &f : Rows(At(report, "flow"))) {
        if (flow.rows.size() == 20) break;
        const std::string from = Str(At(f, "from"));
        flow.rows.push_back({from == "others" ? std::string(Label("others", lang)) : from, Str(At(f, "to")),
                             FormatNumber(Num(At(f, "packets")), 0)});
    }
    if (!flow.rows.empty()) s.blocks.push_back(Chart("flow", flow.caption));
    AddTable(s, std::move(flow), lang);
    return s;
}

// A series block's named arrays as table columns (backscatter: packets, unique sources; DNS: queries, responses).
ViewTable NamedSeriesTable(const json &report, const json &series,
                           const std::vector<std::pair<const char *, const char *>> &fields, ReportLang lang) {
    std::vector<std::pair<std::string, const json *>> columns;
    bool counts = true;  // whole numbers (packets, sources a day) show without decimals
    for (const auto &[field, label] : fields) {
        columns.emplace_back(std::string(Label(label, lang)), &At(series, field));
        for (const json &v : Rows(At(series, field))) counts &= v.is_number_integer() || v.is_null();
    }
    return SeriesTable(DaysOf(report, series), columns, counts ? 0 : 2, lang);
}

// A per-day series block (backscatter, DNS): its chart, and its numbers as a table under it.
void AddSeriesChart(ViewSection &s, const json &report, const json &series, const char *chart, const char *title,
                    const std::vector<std::pair<const char *, const char *>> &fields, ReportLang lang) {
    if (!series.is_object()) return;
    s.blocks.push_back(Chart(chart, std::string(Label(title, lang))));
    ViewTable t = NamedSeriesTable(report, series, fields, lang);
    t.caption = std::string(Label(title, lang));
    AddTable(s, std::move(t), lang);
}

ViewSection BackscatterSection(const json &report, ReportLang lang, int64_t top) {
    const json &bs = At(report, "backscatter");
    ViewSection s{"backscatter", fmt::format("{}: {}", Label("backscatter", lang), Label("backscatter_what", lang)), 2, {}};
    if (!bs.is_object()) {
        s.blocks.push_back(Paragraph(std::string(Label("none", lang))));
        return s;
    }
    const Figure rate = Fig(bs, "per_day_per_ip");
    s.blocks.push_back(Paragraph(fmt::format("{}{}{}", Label("backscatter_packets", lang),
                                             PerDayPerIpSentence(rate.value, rate.change, rate.change_percent, lang),
                                             End(lang))));
    s.blocks.push_back(Paragraph(fmt::format("{}{}{}", Label("backscatter_sources", lang),
                                             PerDaySentence(Fig(bs, "unique_sources_per_day"), "個", lang), End(lang))));
    AddTable(s, FiguresTable(bs, lang), lang);
    AddSeriesChart(s, report, At(bs, "series"), "backscatter-series", "backscatter_series",
                   {{"packets", "packets"}, {"unique_sources", "unique_sources"}}, lang);
    AddTable(s, RankTable(At(bs, "by_source_port"), std::string(Label("backscatter_by_port", lang)),
                          Label("source_port", lang), KeyStyle::PLAIN, lang, top),
             lang);
    AddTable(s, RankTable(At(bs, "by_region"), std::string(Label("backscatter_by_region", lang)),
                          Label("region", lang), KeyStyle::REGION, lang, top),
             lang);
    return s;
}

ViewSection DnsSection(const json &report, ReportLang lang, int64_t top) {
    const json &dns = At(report, "dns");
    ViewSection s{"dns", std::string(Label("dns", lang)), 2, {}};
    if (!dns.is_object()) {
        s.blocks.push_back(Paragraph(std::string(Label("none", lang))));
        return s;
    }
    for (const auto &[field, label] : {std::pair{"queries_per_day_per_ip", "dns_queries"},
                                       std::pair{"responses_per_day_per_ip", "dns_responses"}}) {
        const Figure f = Fig(dns, field);
        s.blocks.push_back(Paragraph(fmt::format(
            "{}{}{}", Label(label, lang), PerDayPerIpSentence(f.value, f.change, f.change_percent, lang), End(lang))));
    }
    if (Truthy(At(dns, "classified_by_port"))) s.blocks.push_back(Paragraph(std::string(Label("dns_by_port", lang))));
    AddSeriesChart(s, report, At(dns, "series"), "dns-series", "dns_series",
                   {{"queries", "queries"}, {"responses", "responses"}}, lang);
    AddTable(s, RankTable(At(dns, "responses_by_region"), std::string(Label("dns_by_region", lang)),
                          Label("region", lang), KeyStyle::REGION, lang, top),
             lang);
    const json &study = At(dns, "study");
    if (study.is_object()) {
        const bool ja = lang == ReportLang::JA;
        if (!Truthy(At(study, "probed"))) {
            s.blocks.push_back(Paragraph(std::string(Label("dns_study_unprobed", lang))));
        } else {
            for (const auto &[field, label] :
                 {std::pair{"open", "dns_study_open"}, std::pair{"non_open", "dns_study_non_open"}}) {
                const json &c = At(study, field);
                const auto n = [&](const char *k) { return FormatNumber(double(At(c, k).get<uint64_t>()), 0); };
                s.blocks.push_back(Paragraph(
                    ja ? fmt::format("{}問い合わせ{}件、応答{}件、送信元{}件。", Label(label, lang), n("queries"),
                                     n("responses"), n("sources"))
                       : fmt::format("{}{} queries and {} responses from {} sources.", Label(label, lang),
                                     n("queries"), n("responses"), n("sources"))));
            }
            s.blocks.push_back(Paragraph(fmt::format(
                "{}{}{}", Label("dns_study_probed", lang),
                FormatNumber(double(At(study, "probed_sources").get<uint64_t>()), 0),
                ja ? "（darkscope probe resolvers による。論文の表は darkscope dns）。"
                   : " (from darkscope probe resolvers; darkscope dns prints the paper's tables).")));
        }
        ViewTable t;
        t.caption = std::string(Label("dns_study_zones", lang));
        t.header = {std::string(Label("zone", lang)), std::string(Label("queries", lang)),
                    std::string(Label("responses", lang)), std::string(Label("distinct_names", lang)),
                    std::string(Label("unique_sources", lang)), std::string(Label("name_examples", lang))};
        for (const json &z : At(study, "top_zones")) {
            std::string examples;
            for (const json &e : z.at("examples")) examples += (examples.empty() ? "" : ", ") + e.get<std::string>();
            t.rows.push_back({z.at("zone").get<std::string>(), FormatNumber(double(z.at("queries").get<uint64_t>()), 0),
                              FormatNumber(double(z.at("responses").get<uint64_t>()), 0),
                              z.at("distinct_names").get<std::string>(), z.at("sources").get<std::string>(), examples});
        }
        AddTable(s, std::move(t), lang);
    }
    return s;
}

ViewSection SignaturesSection(const json &report, ReportLang lang, int64_t top) {
    const json &sig = At(report, "signatures");
    ViewSection s{"signatures", std::string(Label("signatures", lang)), 2, {}};
    if (!sig.is_object()) {
        s.blocks.push_back(Paragraph(std::string(Label("signatures_none", lang))));
        return s;
    }
    const Figure f = Fig(sig, "packets_per_day_per_ip");
    s.blocks.push_back(Paragraph(fmt::format("{}{}{}", Label("signatures_packets", lang),
                                             PerDayPerIpSentence(f.value, f.change, f.change_percent, lang), End(lang))));
    AddTable(s, RankTable(At(sig, "categories"), std::string(Label("signatures_categories", lang)),
                          Label("category", lang), KeyStyle::PLAIN, lang, top),
             lang);
    AddTable(s, RankTable(At(sig, "regions"), std::string(Label("signatures_regions", lang)), Label("region", lang),
                          KeyStyle::REGION, lang, top),
             lang);
    return s;
}

ViewSection DecodeEventsSection(const json &report, ReportLang lang) {
    // `decode_events` as `{events: [{name, count}], unattributed_packets, non_ip_frames}`, or the array alone
    // with the two counts beside it at the top level, or summary's `{name: count}` map.
    const json &de = At(report, "decode_events");
    const json &events = de.is_array() ? de : At(de, "events");
    const json &counts = de.is_array() || !events.is_array() ? report : de;
    ViewSection s{"decode_events", std::string(Label("decode_events", lang)), 2, {}};
    for (const char *field : {"unattributed_packets", "non_ip_frames"})
        s.blocks.push_back(Paragraph(
            fmt::format("{}: {}{}", Label(field, lang), FormatNumber(Num(At(counts, field)), 0), End(lang))));
    ViewTable t;
    t.caption = std::string(Label("decode_events", lang));
    t.header = {std::string(Label("event", lang)), std::string(Label("count", lang))};
    if (events.is_array()) {
        for (const json &e : events) t.rows.push_back({Str(At(e, "name")), FormatNumber(Num(At(e, "count")), 0)});
    } else if (de.is_object()) {
        for (const auto &[name, count] : de.items())
            if (count.is_number()) t.rows.push_back({name, FormatNumber(Num(count), 0)});
    }
    AddTable(s, std::move(t), lang);
    return s;
}

ViewSection PhenomenaSection(const json &report, ReportLang lang) {
    const json &ph = At(report, "phenomena");
    ViewSection s{"phenomena", std::string(Label("phenomena", lang)), 2, {}};
    if (!Truthy(At(ph, "detectors_run"))) {
        s.blocks.push_back(Paragraph(std::string(Label("phenomena_not_run", lang))));
        return s;
    }
    std::vector<std::string> runs;
    for (const json &r : Rows(At(ph, "runs")))
        runs.push_back(fmt::format("{} ({} .. {}): {}", Label(Str(At(r, "origin")) == "ingest" ? "run_ingest" : "run_series", lang),
                                   Str(At(r, "first")), Str(At(r, "last")), Str(At(r, "settings"))));
    s.blocks.push_back(Paragraph(std::string(Label("phenomena_runs", lang))));
    s.blocks.push_back(List(std::move(runs)));
    const json &events = Rows(At(ph, "events"));
    if (events.empty()) {
        s.blocks.push_back(Paragraph(std::string(Label("phenomena_none", lang))));
        return s;
    }
    std::vector<std::string> counts;
    if (At(ph, "counts").is_object())
        for (const auto &[kind, n] : At(ph, "counts").items())
            counts.push_back(fmt::format("{}: {}", Label("kind_" + kind, lang), FormatNumber(Num(n), 0)));
    s.blocks.push_back(Paragraph(std::string(Label("phenomena_counts", lang))));
    s.blocks.push_back(List(std::move(counts)));
    s.blocks.push_back(Paragraph(std::string(Label("phenomena_shown", lang))));
    size_t index = 0;
    for (const json &e : events) {
        const std::string kind = Str(At(e, "kind"));
        s.blocks.push_back(Paragraph(fmt::format("{}: {} ({} .. {})", Label("kind_" + kind, lang), Str(At(e, "subject")),
                                                 Str(At(e, "start")), Str(At(e, "end")))));
        s.blocks.push_back(Paragraph(Str(At(e, lang == ReportLang::JA ? "sentence_ja" : "sentence_en"))));
        std::vector<std::string> facts;
        facts.push_back(fmt::format("{}: {}; {}: {}; {}: {}", Label("magnitude", lang), FormatNumber(Num(At(e, "magnitude")), 1),
                                    Label("packets", lang), FormatNumber(Num(At(e, "packets")), 0),
                                    Label("unique_sources", lang), FormatNumber(Num(At(e, "sources")), 0)));
        std::vector<std::string> sensors, regions, top;
        for (const json &v : Rows(At(e, "sensors"))) sensors.push_back(Str(v));
        for (const json &v : Rows(At(e, "regions"))) regions.push_back(Str(v));
        for (const json &v : Rows(At(e, "top_sources")))
            top.push_back(fmt::format("{}{} ({})", Str(At(v, "address")),
                                      Str(At(v, "country")).empty() ? "" : " " + Str(At(v, "country")),
                                      FormatNumber(Num(At(v, "packets")), 0)));
        if (!sensors.empty()) facts.push_back(fmt::format("{}: {}", Label("sensors_label", lang), Join(sensors, ", ")));
        if (!regions.empty()) facts.push_back(fmt::format("{}: {}", Label("regions_label", lang), Join(regions, ", ")));
        if (!top.empty()) facts.push_back(fmt::format("{}: {}", Label("top_sources", lang), Join(top, ", ")));
        // The figures behind the sentence; the series and profiles are drawn, not listed.
        json figures = json::object();
        if (At(e, "evidence").is_object())
            for (const auto &[k, v] : At(e, "evidence").items())
                if (k != "series" && k != "profile" && k != "flow") figures[k] = v;
        if (!figures.empty()) facts.push_back(fmt::format("{}: {}", Label("evidence", lang), figures.dump()));
        s.blocks.push_back(List(std::move(facts)));
        const json &ev = At(e, "evidence");
        if (kind == "campaign" && !Rows(At(ev, "flow")).empty())
            s.blocks.push_back(Chart(fmt::format("event-{}", index), std::string(Label("event_flow", lang))));
        else if (At(ev, "series").is_object())
            s.blocks.push_back(Chart(fmt::format("event-{}", index), std::string(Label("event_chart", lang))));
        else if (At(e, "context").is_object())
            s.blocks.push_back(Chart(fmt::format("event-{}", index),
                                     fmt::format("{} ({})", Label("event_context", lang), Str(At(At(e, "context"), "key")))));
        ++index;
    }
    return s;
}

ViewSection DataSourcesSection(const json &report, ReportLang lang) {
    const json &ds = At(report, "data_sources");
    ViewSection s{"data_sources", std::string(Label("data_sources", lang)), 2, {}};
    ViewTable t;
    t.caption = std::string(Label("files", lang));
    t.header = {std::string(Label("file", lang)),  std::string(Label("packets", lang)),
                std::string(Label("first", lang)), std::string(Label("last", lang)),
                std::string(Label("status", lang)), std::string(Label("message", lang))};
    for (const json &f : Rows(At(ds, "files")))
        t.rows.push_back({Str(At(f, "path")), FormatNumber(Num(At(f, "packets")), 0), Str(At(f, "first")),
                          Str(At(f, "last")), Str(At(f, "status")), Str(At(f, "message"))});
    AddTable(s, std::move(t), lang);
    std::vector<std::string> enrichment;
    const json &en = At(ds, "enrichment");
    if (en.is_array())
        for (const json &item : en) enrichment.push_back(Str(item));
    else if (en.is_object())
        for (const auto &[k, v] : en.items()) enrichment.push_back(fmt::format("{}: {}", k, Str(v)));
    else if (!en.is_null())
        enrichment.push_back(Str(en));
    s.blocks.push_back(Paragraph(std::string(Label("enrichment", lang)) + ":"));
    s.blocks.push_back(enrichment.empty() ? Paragraph(std::string(Label("none", lang))) : List(std::move(enrichment)));
    return s;
}

}  // namespace

ReportView BuildReportView(const json &report, ReportLang lang) {
    ReportView v;
    const int64_t top = Int(At(report, "top")).value_or(10);
    v.title = std::string(Label("title", lang));
    v.subtitle = lang == ReportLang::JA
                     ? fmt::format("{}、{} {}", PeriodText(At(report, "period"), lang), Label("compared_with", lang),
                                   PeriodText(At(report, "previous"), lang))
                     : fmt::format("{}, {} {}", PeriodText(At(report, "period"), lang), Label("compared_with", lang),
                                   PeriodText(At(report, "previous"), lang));
    v.sections.push_back(PeriodSection(report, lang));
    v.sections.push_back(OverviewSection(report, lang));
    v.sections.push_back(RankSection(report, "services", lang, top));
    v.sections.push_back(RankSection(report, "regions", lang, top));
    v.sections.push_back({"series", std::string(Label("series", lang)), 2, {}});
    AddSeriesPart(v.sections, report, "services", lang);
    AddSeriesPart(v.sections, report, "regions", lang);
    v.sections.push_back({"ratios", std::string(Label("ratios", lang)), 2, {}});
    AddRatioPart(v.sections, report, "services", lang);
    AddRatioPart(v.sections, report, "regions", lang);
    v.sections.push_back(MixSection(report, lang));
    v.sections.push_back(BackscatterSection(report, lang, top));
    v.sections.push_back(DnsSection(report, lang, top));
    v.sections.push_back(SignaturesSection(report, lang, top));
    // The categories' daily series and ratio chart, when rules ran (issue: signatures, item 4).
    if (At(At(report, "series"), "categories").is_array()) AddSeriesPart(v.sections, report, "categories", lang);
    if (At(At(report, "ratios"), "categories").is_object()) AddRatioPart(v.sections, report, "categories", lang);
    v.sections.push_back(DecodeEventsSection(report, lang));
    v.sections.push_back(PhenomenaSection(report, lang));
    v.sections.push_back(DataSourcesSection(report, lang));
    return v;
}

}  // namespace darkscope::detail
