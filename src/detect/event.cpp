#include "detect/event.hpp"

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

nlohmann::ordered_json ToJson(const DetectedEvent &e) {
    nlohmann::ordered_json j;
    j["kind"] = EventKindName(e.kind);
    j["detector"] = e.detector;
    j["subject"] = e.subject;
    j["start"] = FormatTimestamp(e.start);
    j["peak"] = FormatTimestamp(e.peak);
    j["end"] = FormatTimestamp(e.end);
    // Nanoseconds too: the ISO forms round to the second, and reading back must give the same event.
    j["start_ns"] = e.start;
    j["peak_ns"] = e.peak;
    j["end_ns"] = e.end;
    j["magnitude"] = e.magnitude;
    j["packets"] = e.packets;
    j["sources"] = e.sources;
    auto &top = j["top_sources"] = nlohmann::ordered_json::array();
    for (auto &s : e.top_sources) top.push_back({{"address", s.address}, {"country", s.country}, {"packets", s.packets}});
    j["regions"] = e.regions;
    j["sensors"] = e.sensors;
    j["evidence"] = e.evidence;
    j["sentence_en"] = e.sentence_en;
    j["sentence_ja"] = e.sentence_ja;
    return j;
}

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
