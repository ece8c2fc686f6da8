#include "detect/event.hpp"

#include "common/text.hpp"

namespace darkscope::detect {

std::string GroupDigits(uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

namespace {

// A string as nlohmann's dump writes it. Printable ASCII, which is what most of an event's strings are, is
// copied as it is; anything else (the Japanese sentence, a sensor name with a quote) goes through nlohmann, so
// that escapes and the refusal of invalid UTF-8 stay exactly its own.
void AppendString(std::string &out, std::string_view s) {
    for (const unsigned char c : s)
        if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
            out += nlohmann::ordered_json(s).dump();
            return;
        }
    out += '"';
    out += s;
    out += '"';
}

void AppendStrings(std::string &out, const std::vector<std::string> &list) {
    out += '[';
    for (size_t i = 0; i < list.size(); ++i) {
        if (i) out += ',';
        AppendString(out, list[i]);
    }
    out += ']';
}

}  // namespace

std::string ToJsonText(const DetectedEvent &e) {
    std::string out;
    out.reserve(1536);
    out += "{\"kind\":";
    AppendString(out, EventKindName(e.kind));
    out += ",\"detector\":";
    AppendString(out, e.detector);
    out += ",\"subject\":";
    AppendString(out, e.subject);
    out += ",\"start\":";
    AppendString(out, FormatTimestamp(e.start));
    out += ",\"peak\":";
    AppendString(out, FormatTimestamp(e.peak));
    out += ",\"end\":";
    AppendString(out, FormatTimestamp(e.end));
    // Nanoseconds too: the ISO forms round to the second, and reading back must give the same event.
    out += ",\"start_ns\":";
    AppendDecimal(out, e.start);
    out += ",\"peak_ns\":";
    AppendDecimal(out, e.peak);
    out += ",\"end_ns\":";
    AppendDecimal(out, e.end);
    out += ",\"magnitude\":";
    out += nlohmann::ordered_json(e.magnitude).dump();  // its shortest round-trip digits, and null for NaN
    out += ",\"packets\":";
    AppendDecimal(out, e.packets);
    out += ",\"sources\":";
    AppendDecimal(out, e.sources);
    out += ",\"top_sources\":[";
    for (size_t i = 0; i < e.top_sources.size(); ++i) {
        const EventSource &s = e.top_sources[i];
        out += i ? ",{\"address\":" : "{\"address\":";
        AppendString(out, s.address);
        out += ",\"country\":";
        AppendString(out, s.country);
        out += ",\"packets\":";
        AppendDecimal(out, s.packets);
        out += '}';
    }
    out += "],\"regions\":";
    AppendStrings(out, e.regions);
    out += ",\"sensors\":";
    AppendStrings(out, e.sensors);
    out += ",\"evidence\":";
    out += e.evidence.dump();
    out += ",\"sentence_en\":";
    AppendString(out, e.sentence_en);
    out += ",\"sentence_ja\":";
    AppendString(out, e.sentence_ja);
    out += '}';
    return out;
}

nlohmann::ordered_json ToJson(const DetectedEvent &e) { return nlohmann::ordered_json::parse(ToJsonText(e)); }

DetectedEvent EventFromJson(const nlohmann::ordered_json &j) {
    DetectedEvent e;
    auto kind = ParseEventKind(j.at("kind").get<std::string>());
    if (!kind) throw nlohmann::json::other_error::create(501, "unknown event kind " + j.at("kind").dump(), &j);
    e.kind = *kind;
    e.detector = j.at("detector").get<std::string>();
    e.subject = j.at("subject").get<std::string>();
    e.start = j.at("start_ns").get<int64_t>();
    e.peak = j.at("peak_ns").get<int64_t>();
    e.end = j.at("end_ns").get<int64_t>();
    e.magnitude = j.at("magnitude").get<double>();
    e.packets = j.at("packets").get<uint64_t>();
    e.sources = j.at("sources").get<uint64_t>();
    for (auto &s : j.at("top_sources"))
        e.top_sources.push_back(
            {s.at("address").get<std::string>(), s.at("country").get<std::string>(), s.at("packets").get<uint64_t>()});
    e.regions = j.at("regions").get<std::vector<std::string>>();
    e.sensors = j.at("sensors").get<std::vector<std::string>>();
    e.evidence = j.at("evidence");
    e.sentence_en = j.at("sentence_en").get<std::string>();
    e.sentence_ja = j.at("sentence_ja").get<std::string>();
    return e;
}

}  // namespace darkscope::detect
