#include "report/summary.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "classify/fingerprint.hpp"
#include "enrich/country.hpp"
#include "enrich/enrichment.hpp"
#include "enrich/range_table.hpp"
#include "enrich/rdns_cache.hpp"
#include "enrich/research.hpp"
#include "report/iana.hpp"

#include "classify/service_key.hpp"
#include "classify/traffic_class.hpp"
#include "signature/category.hpp"

namespace darkscope {

std::optional<SummaryBy> ParseSummaryBy(std::string_view text) {
    if (text == "service") return SummaryBy::SERVICE;
    if (text == "class") return SummaryBy::CLASS;
    if (text == "srcport") return SummaryBy::SOURCE_PORT;
    if (text == "source") return SummaryBy::SOURCE;
    if (text == "sensor") return SummaryBy::SENSOR;
    if (text == "country") return SummaryBy::COUNTRY;
    if (text == "country-service") return SummaryBy::COUNTRY_SERVICE;
    if (text == "asn") return SummaryBy::ASN;
    if (text == "tag") return SummaryBy::TAG;
    if (text == "signature") return SummaryBy::SIGNATURE;
    if (text == "category") return SummaryBy::CATEGORY;
    if (text == "signature-country") return SummaryBy::SIGNATURE_COUNTRY;
    if (text == "category-country") return SummaryBy::CATEGORY_COUNTRY;
    return std::nullopt;
}

namespace {

const char *ByName(SummaryBy by) {
    switch (by) {
        case SummaryBy::SERVICE: return "service";
        case SummaryBy::CLASS: return "class";
        case SummaryBy::SOURCE_PORT: return "srcport";
        case SummaryBy::SOURCE: return "source";
        case SummaryBy::SENSOR: return "sensor";
        case SummaryBy::COUNTRY: return "country";
        case SummaryBy::COUNTRY_SERVICE: return "country-service";
        case SummaryBy::ASN: return "asn";
        case SummaryBy::TAG: return "tag";
        case SummaryBy::SIGNATURE: return "signature";
        case SummaryBy::CATEGORY: return "category";
        case SummaryBy::SIGNATURE_COUNTRY: return "signature-country";
        case SummaryBy::CATEGORY_COUNTRY: return "category-country";
    }
    return "?";
}

}  // namespace

std::map<std::string, std::string> CountryNames(std::string_view lang) {
    std::map<std::string, std::string> out;
    std::ifstream f(GeoDataDir() / "node_modules" / "i18n-iso-countries" / "langs" / (std::string(lang) + ".json"));
    if (!f) return out;
    try {
        auto j = nlohmann::json::parse(f);
        for (auto &[code, v] : j.at("countries").items()) {
            if (v.is_string()) out[code] = v.get<std::string>();
            else if (v.is_array() && !v.empty() && v[0].is_string()) out[code] = v[0].get<std::string>();
        }
    } catch (const nlohmann::json::exception &) {
        out.clear();
    }
    return out;
}

namespace {

struct KeyTotals {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    SourceSet sources;
};

void AddSources(SourceSet &set, const CounterRecord &r) {
    set.AddV4Many(r.sources_v4);
    if (!r.sources_v6.empty()) set.AddV6Many(r.sources_v6);
}

std::string CategoryName(uint32_t category) {
    return category > 0 && category < sig::CATEGORY_COUNT ? std::string(sig::CategoryName(sig::Category(category)))
                                                          : fmt::format("category {}", category);
}

// The country of a key of the country dimensions.
uint16_t CountryOf(Dimension dim, uint32_t key) {
    if (dim == Dimension::COUNTRY_SERVICE) return CountryOfKey(key);
    if (dim == Dimension::SIGNATURE_CATEGORY_COUNTRY) return CountryOfCategoryKey(key);
    return uint16_t(key);
}

std::string KeyName(Dimension dim, uint32_t key) {
    if (dim == Dimension::SERVICE || dim == Dimension::SOURCE_PORT) return ServiceKey{key}.ToString();
    if (dim == Dimension::COUNTRY || dim == Dimension::SIGNATURE_COUNTRY) return CountryCode(uint16_t(key));
    if (dim == Dimension::SIGNATURE_CATEGORY) return CategoryName(key);
    if (dim == Dimension::SIGNATURE_CATEGORY_COUNTRY)
        return CountryCode(CountryOfCategoryKey(key)) + " " + CategoryName(CategoryOfCountryKey(key));
    if (dim == Dimension::COUNTRY_SERVICE)
        return CountryCode(CountryOfKey(key)) + " " + ServiceOfKey(key).ToString();
    if (dim == Dimension::ASN) return fmt::format("AS{}", key);
    if (dim == Dimension::CLASS)
        return key < uint32_t(TrafficClass::COUNT) ? std::string(TrafficClassName(TrafficClass(key)))
                                                   : fmt::format("class {}", key);
    return std::to_string(key);
}

}  // namespace

bool SummaryComparable(SummaryBy by) { return by != SummaryBy::SOURCE && by != SummaryBy::TAG; }

bool InSensorGroup(const Sensor &sensor, const std::vector<std::string> &group) {
    if (group.empty()) return true;
    auto same = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
               });
    };
    // "JP" also selects the sensors located "Tokyo, JP": the last part of a location, after its last comma.
    auto last_part = [](std::string_view location) {
        const size_t comma = location.rfind(',');
        if (comma == std::string_view::npos) return std::string_view();
        location.remove_prefix(comma + 1);
        while (!location.empty() && location.front() == ' ') location.remove_prefix(1);
        return location;
    };
    for (const std::string &g : group)
        if (same(g, sensor.name) || (!sensor.location.empty() && same(g, sensor.location)) ||
            (!last_part(sensor.location).empty() && same(g, last_part(sensor.location))) ||
            (!sensor.provider.empty() && same(g, sensor.provider)))
            return true;
    return false;
}

double PerDayPerIp(uint64_t packets, int64_t days, uint64_t addresses) {
    return double(packets) / double(std::max<int64_t>(1, days)) / double(std::max<uint64_t>(1, addresses));
}

std::vector<SummaryRow> CompareRows(std::vector<SummaryRow> rows, const std::vector<SummaryRow> &previous, size_t top) {
    std::unordered_map<std::string, size_t> previous_index;
    for (size_t i = 0; i < previous.size(); ++i) previous_index.emplace(previous[i].key, i);
    std::unordered_set<std::string> current_keys;
    for (size_t i = 0; i < rows.size(); ++i) {
        SummaryRow &r = rows[i];
        r.rank = i + 1;
        current_keys.insert(r.key);
        if (auto it = previous_index.find(r.key); it != previous_index.end()) {
            const SummaryRow &p = previous[it->second];
            r.previous_rank = it->second + 1;
            r.previous_packets = p.packets;
            r.previous_per_day_per_ip = p.per_day_per_ip;
            if (p.per_day_per_ip > 0) r.change_percent = (r.per_day_per_ip - p.per_day_per_ip) / p.per_day_per_ip * 100;
        }
        r.change_per_day_per_ip = r.per_day_per_ip - r.previous_per_day_per_ip;
    }
    for (size_t i = 0; i < previous.size(); ++i) {
        if (current_keys.count(previous[i].key)) continue;
        SummaryRow gone = previous[i];
        gone.packets = gone.bytes = gone.unique_sources = 0;
        gone.per_day_per_ip = gone.share = 0;
        gone.rank = 0;
        gone.previous_rank = i + 1;
        gone.previous_packets = previous[i].packets;
        gone.previous_per_day_per_ip = previous[i].per_day_per_ip;
        gone.change_per_day_per_ip = -previous[i].per_day_per_ip;
        gone.change_percent = -100.0;
        rows.push_back(std::move(gone));
    }
    std::vector<size_t> up, down;
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].change_per_day_per_ip > 0) up.push_back(i);
        if (rows[i].change_per_day_per_ip < 0) down.push_back(i);
    }
    auto by_change = [&](bool increase) {
        return [&rows, increase](size_t a, size_t b) {
            const double ca = rows[a].change_per_day_per_ip, cb = rows[b].change_per_day_per_ip;
            if (ca != cb) return increase ? ca > cb : ca < cb;
            return rows[a].key < rows[b].key;
        };
    };
    std::sort(up.begin(), up.end(), by_change(true));
    std::sort(down.begin(), down.end(), by_change(false));
    for (size_t i = 0; i < up.size(); ++i) rows[up[i]].increase_rank = i + 1;
    for (size_t i = 0; i < down.size(); ++i) rows[down[i]].decrease_rank = i + 1;
    std::vector<SummaryRow> shown;
    for (SummaryRow &r : rows) {
        const bool in_top = r.rank != 0 && (top == 0 || r.rank <= top);
        const bool mover = (r.increase_rank != 0 && r.increase_rank <= COMPARE_MOVERS) ||
                           (r.decrease_rank != 0 && r.decrease_rank <= COMPARE_MOVERS);
        if (!in_top && !mover) continue;
        r.outside_top = !in_top;
        shown.push_back(std::move(r));
    }
    return shown;
}

void AddComparisonJson(nlohmann::json &row, const SummaryRow &r) {
    auto rank_or_null = [](size_t rank) { return rank ? nlohmann::json(rank) : nlohmann::json(nullptr); };
    row["rank"] = rank_or_null(r.rank);
    row["previous_rank"] = rank_or_null(r.previous_rank);
    row["previous_packets"] = r.previous_packets;
    row["previous_per_day_per_ip"] = r.previous_per_day_per_ip;
    row["change_per_day_per_ip"] = r.change_per_day_per_ip;
    row["change_percent"] = r.change_percent ? nlohmann::json(*r.change_percent) : nlohmann::json(nullptr);
    row["increase_rank"] = rank_or_null(r.increase_rank);
    row["decrease_rank"] = rank_or_null(r.decrease_rank);
    row["outside_top"] = r.outside_top;
}

Summary Summarize(Store &store, const SummaryOptions &options) {
    Summary s;
    s.store = store.Location();
    s.by = options.by;
    auto range = store.DayRange();
    s.from_day = options.from_day ? *options.from_day : range ? range->first : 0;
    s.to_day = options.to_day ? *options.to_day : range ? range->second : 0;
    s.days = std::max<int64_t>(1, s.to_day - s.from_day + 1);
    s.exclude_research = options.exclude_research;
    for (auto &f : store.ListFiles()) {
        ++s.files;
        s.partial_files += f.status != "complete";
        // The data that decided the regions of the period's packets.
        if (f.packets && (DayOf(f.last_ts) < s.from_day || DayOf(f.first_ts) > s.to_day)) continue;
        std::string e = f.enrichment.empty() ? "none (ingested before enrichment existed)" : f.enrichment;
        if (std::find(s.enrichment.begin(), s.enrichment.end(), e) == s.enrichment.end()) s.enrichment.push_back(e);
    }

    // Sensors: the denominator of per-day-per-IP figures is their monitored address count; an
    // implicit sensor's is the number of distinct destinations seen in the period.
    std::unordered_map<int64_t, size_t> sensor_index;
    int64_t unattributed_id = -1;
    std::vector<int64_t> sensor_ids;
    for (auto &st : store.LoadSensors()) {
        if (st.unattributed) {
            unattributed_id = st.id;
            continue;
        }
        if (!InSensorGroup(st.sensor, options.sensor_group)) continue;
        SummarySensor ss;
        ss.name = st.sensor.name;
        for (auto &n : st.sensor.networks) ss.networks += (ss.networks.empty() ? "" : ",") + n.ToString();
        ss.location = st.sensor.location;
        ss.provider = st.sensor.provider;
        ss.implicit = st.sensor.implicit;
        ss.addresses = ss.implicit ? store.Destinations(st.id, s.from_day, s.to_day).Cardinality() : st.sensor.addresses;
        sensor_index[st.id] = s.sensors.size();
        sensor_ids.push_back(st.id);
        s.sensors.push_back(std::move(ss));
    }

    // Totals over attributed sensors, from the TOTAL dimension; unattributed and non-IP separately.
    SourceSet all_sources;
    std::vector<KeyTotals> per_sensor(s.sensors.size());
    const auto read_total = options.total_sources ? &Store::ScanCounters : &Store::ScanCounts;
    (store.*read_total)(Granularity::DAY, Dimension::TOTAL, s.from_day, s.to_day, [&](const CounterRecord &r) {
        if (r.sensor_id == unattributed_id) {
            s.unattributed_packets += r.packets;
            return;
        }
        auto it = sensor_index.find(r.sensor_id);
        if (it == sensor_index.end()) return;
        s.packets += r.packets;
        s.bytes += r.bytes;
        KeyTotals &t = per_sensor[it->second];
        t.packets += r.packets;
        t.bytes += r.bytes;
        AddSources(t.sources, r);
    });
    // The period's sources: the sensors' sets united once, rather than every day's set added twice.
    for (const KeyTotals &t : per_sensor) all_sources.Merge(t.sources);
    s.empty = s.packets == 0 && s.unattributed_packets == 0;
    // Research scanners matched at ingest have their own copy of every dimension: subtracting it
    // is exact, for packets and for unique sources (theirs are a subset of each key's sources).
    SourceSet research_sources;
    std::vector<SourceSet> research_per_sensor(s.sensors.size());
    std::map<int64_t, uint64_t> research_counted_by_day;  // packets in the research counters, per day
    if (options.exclude_research) {
        (store.*read_total)(Granularity::DAY, ResearchDimension(Dimension::TOTAL), s.from_day, s.to_day,
                            [&](const CounterRecord &r) {
                                auto it = sensor_index.find(r.sensor_id);
                                if (it == sensor_index.end()) return;
                                research_counted_by_day[r.period] += r.packets;
                                s.packets -= r.packets;
                                s.bytes -= r.bytes;
                                s.research_packets_excluded += r.packets;
                                AddSources(research_per_sensor[it->second], r);
                                KeyTotals &t = per_sensor[it->second];
                                t.packets -= r.packets;
                                t.bytes -= r.bytes;
                            });
        for (const SourceSet &sensor_research : research_per_sensor) research_sources.Merge(sensor_research);
    }
    s.unique_sources = all_sources.Cardinality() - research_sources.Cardinality();
    // Frames without IP carry service key 0 ("-"); having no destination, they are always unattributed.
    if (unattributed_id >= 0)
        store.ScanSensorCounts(Granularity::DAY, Dimension::SERVICE, s.from_day, s.to_day, unattributed_id,
                               [&](const CounterRecord &r) {
                                   if (r.key == 0) s.non_ip_frames += r.packets;
                               });
    // Only sensors that saw packets in the period count towards the monitored space when they are
    // implicit; configured sensors always count (a silent sensor is news, not an empty denominator).
    // Saturating, like each sensor's own count: an IPv6 /48 alone is 2^80 addresses.
    for (auto &ss : s.sensors)
        s.monitored_addresses = s.monitored_addresses + ss.addresses < s.monitored_addresses
                                    ? UINT64_MAX
                                    : s.monitored_addresses + ss.addresses;

    const std::map<int64_t, std::string> research_names = store.LoadResearchNames();
    // Reverse-DNS names (darkscope enrich rdns) and the research list's patterns, as they stand now. Ingest
    // labels these sources too, but only in the days it reads after the names were cached: the days
    // before still count them, which --by source and --by tag can correct (they read per-source
    // records) and every other count can only report (the residual below).
    std::unordered_map<IpAddress, std::string, IpAddressHash> research_by_rdns;
    if (options.by == SummaryBy::SOURCE || options.by == SummaryBy::TAG || options.exclude_research) {
        std::optional<ResearchList> list;
        if (auto p = options.research_list ? std::optional<std::filesystem::path>(*options.research_list)
                                           : ResearchList::DefaultPath())
            list = ResearchList::LoadToml(*p);
        if (list)
            for (const RdnsResearchSource &r : ResearchByRdns(store, *list))
                research_by_rdns[r.address] = std::string(list->Name(r.entry));
    }
    if (options.exclude_research) {
        // Per-source records carry the label each source had when its day was ingested (any of the day's
        // files, once they are merged), and hold exactly the packets to the sensors; the research counters
        // hold the packets that were labelled. What is labelled now but was not then stays in the counts.
        std::map<int64_t, uint64_t> labelled_by_day;
        std::unordered_set<IpAddress, IpAddressHash> residual_sources;
        Summary::ResearchResidual &residual = s.research_residual;
        store.ScanSources(s.from_day, s.to_day, [&](const SourceRecord &r) {
            const SourceDay &d = *r.record;
            if (d.research) {
                labelled_by_day[r.day] += d.packets;
            } else if (research_by_rdns.count(d.src)) {
                residual.rdns_packets += d.packets;
                residual_sources.insert(d.src);
            }
        });
        residual.rdns_sources = residual_sources.size();
        for (const auto &[day, packets] : labelled_by_day) {
            const uint64_t counted = research_counted_by_day[day];
            if (packets <= counted) continue;
            residual.partly_labelled_packets += packets - counted;
            ++residual.partly_labelled_days;
        }
    }

    auto finish_row = [&](SummaryRow &row, double addresses) {
        row.per_day_per_ip = double(row.packets) / double(s.days) / std::max(1.0, addresses);
        row.share = s.packets ? double(row.packets) / double(s.packets) : 0.0;
    };

    if (options.by == SummaryBy::SENSOR) {
        for (size_t i = 0; i < s.sensors.size(); ++i) {
            SummaryRow row;
            row.key = s.sensors[i].name;
            row.packets = per_sensor[i].packets;
            row.bytes = per_sensor[i].bytes;
            row.unique_sources = per_sensor[i].sources.Cardinality() - research_per_sensor[i].Cardinality();
            row.addresses = s.sensors[i].addresses;
            finish_row(row, double(row.addresses));
            s.rows.push_back(std::move(row));
        }
    } else if (options.by == SummaryBy::TAG) {
        struct TagAcc {
            uint64_t matched = 0, packets = 0;
            SourceSet sources;
        };
        std::map<std::string, TagAcc> tags;
        store.ScanSources(s.from_day, s.to_day, [&](const SourceRecord &r) {
            const SourceDay &d = *r.record;
            if (options.exclude_research && (d.research || research_by_rdns.count(d.src))) return;
            for (const TagVerdict &v : TagsOf(d.Evidence())) {
                TagAcc &t = tags[std::string(TagName(v.tag))];
                t.matched += v.matched;
                t.packets += d.packets;
                t.sources.Add(d.src);
            }
        });
        for (auto &[name, t] : tags) {
            SummaryRow row;
            row.key = name;
            row.packets = t.packets;
            row.unique_sources = t.sources.Cardinality();
            row.name = fmt::format("{} packets matched the rule", t.matched);
            finish_row(row, double(std::max<uint64_t>(1, s.monitored_addresses)));
            s.rows.push_back(std::move(row));
        }
    } else if (options.by == SummaryBy::SOURCE) {
        struct Acc {
            uint64_t packets = 0, bytes = 0;
            TimestampNs first = 0, last = 0;
            Bitmap32 dsts, svcs, sens;
            FingerprintEvidence evidence;
            uint16_t country = 0, research = 0;
            uint32_t asn = 0;
        };
        std::unordered_map<IpAddress, Acc, IpAddressHash> by_source;
        store.ScanSources(s.from_day, s.to_day, [&](const SourceRecord &r) {
            const SourceDay &d = *r.record;
            if (options.exclude_research && (d.research || research_by_rdns.count(d.src))) return;
            Acc &a = by_source[d.src];
            // Tags are per source and day; over a period, the evidence of its days adds up.
            a.evidence.packets += d.packets;
            a.evidence.syn_packets += d.syn_packets;
            for (size_t i = 0; i < FINGERPRINT_RULES; ++i) a.evidence.matched[i] += d.rule_packets[i];
            if (d.country) a.country = d.country;
            if (d.asn) a.asn = d.asn;
            if (d.research) a.research = d.research;
            if (a.packets == 0 || d.first_ts < a.first) a.first = d.first_ts;
            if (a.packets == 0 || d.last_ts > a.last) a.last = d.last_ts;
            a.packets += d.packets;
            a.bytes += d.bytes;
            a.dsts.AddMany(d.destinations);
            a.svcs.AddMany(d.services);
            a.sens.AddMany(d.sensors);
        });
        for (auto &[src, a] : by_source) {
            SummaryRow row;
            row.key = src.ToString();
            row.packets = a.packets;
            row.bytes = a.bytes;
            row.unique_sources = 1;
            row.first_ts = a.first;
            row.last_ts = a.last;
            row.mean_interarrival_s = a.packets > 1 ? double(a.last - a.first) / 1e9 / double(a.packets - 1) : 0.0;
            row.destinations = a.dsts.Cardinality();
            row.services = a.svcs.Cardinality();
            row.sensors = a.sens.Cardinality();
            for (const TagVerdict &v : TagsOf(a.evidence))
                row.tags.push_back(fmt::format("{} ({} {}/{})", TagName(v.tag), FingerprintRuleName(v.rule), v.matched,
                                               v.out_of));
            if (a.country) row.name = CountryCode(a.country);
            if (a.asn) row.name += fmt::format("{}AS{}", row.name.empty() ? "" : " ", a.asn);
            if (a.research) {
                auto it = research_names.find(a.research);
                row.research = it != research_names.end() ? it->second : fmt::format("research label {}", a.research);
            } else if (auto it = research_by_rdns.find(src); it != research_by_rdns.end()) {
                row.research = it->second + " (reverse DNS)";
            }
            finish_row(row, double(std::max<uint64_t>(1, s.monitored_addresses)));
            s.rows.push_back(std::move(row));
        }
    } else {
        Dimension dim = options.by == SummaryBy::SERVICE           ? Dimension::SERVICE
                        : options.by == SummaryBy::CLASS           ? Dimension::CLASS
                        : options.by == SummaryBy::COUNTRY         ? Dimension::COUNTRY
                        : options.by == SummaryBy::COUNTRY_SERVICE ? Dimension::COUNTRY_SERVICE
                        : options.by == SummaryBy::ASN             ? Dimension::ASN
                        : options.by == SummaryBy::SIGNATURE       ? Dimension::SIGNATURE
                        : options.by == SummaryBy::CATEGORY        ? Dimension::SIGNATURE_CATEGORY
                        : options.by == SummaryBy::SIGNATURE_COUNTRY ? Dimension::SIGNATURE_COUNTRY
                        : options.by == SummaryBy::CATEGORY_COUNTRY  ? Dimension::SIGNATURE_CATEGORY_COUNTRY
                                                                     : Dimension::SOURCE_PORT;
        const bool by_country = dim == Dimension::COUNTRY || dim == Dimension::COUNTRY_SERVICE ||
                                dim == Dimension::SIGNATURE_COUNTRY || dim == Dimension::SIGNATURE_CATEGORY_COUNTRY;
        // Signature rows are named from the rules stored at ingest.
        std::unordered_map<uint32_t, SignatureInfo> signatures;
        if (dim == Dimension::SIGNATURE)
            for (auto &info : store.LoadSignatures()) signatures[info.sid] = info;
        std::map<uint32_t, KeyTotals> keys, research_keys;
        auto scan = [&](Dimension d, std::map<uint32_t, KeyTotals> &into) {
            store.ScanCounters(Granularity::DAY, d, s.from_day, s.to_day, [&](const CounterRecord &r) {
                if (!sensor_index.count(r.sensor_id)) return;
                KeyTotals &t = into[r.key];
                t.packets += r.packets;
                t.bytes += r.bytes;
                AddSources(t.sources, r);
            });
        };
        scan(dim, keys);
        if (options.exclude_research) scan(ResearchDimension(dim), research_keys);
        std::map<std::string, std::string> names_en, names_ja;
        std::optional<RangeTable> asn_table;
        if (by_country) {
            names_en = CountryNames("en");
            names_ja = CountryNames("ja");
        }
        if (dim == Dimension::ASN) {
            if (auto p = Enrichment::DefaultAsnPath()) {
                try {
                    asn_table = RangeTable::Load(*p);
                } catch (const std::exception &) {
                    asn_table.reset();  // names are a courtesy; the numbers stand without them
                }
            }
        }
        for (auto &[key, t] : keys) {
            SummaryRow row;
            row.key = KeyName(dim, key);
            if (dim == Dimension::SIGNATURE) {
                row.sid = key;
                auto it = signatures.find(key);
                row.key = it == signatures.end() ? fmt::format("sid {}", key) : fmt::format("{} [{}]", it->second.msg, key);
                if (it != signatures.end() && it->second.category > 0 && it->second.category < sig::CATEGORY_COUNT)
                    row.category = std::string(sig::CategoryName(sig::Category(it->second.category)));
            }
            row.packets = t.packets;
            row.bytes = t.bytes;
            row.unique_sources = t.sources.Cardinality();
            if (auto it = research_keys.find(key); it != research_keys.end()) {
                row.packets -= it->second.packets;
                row.bytes -= it->second.bytes;
                row.unique_sources -= it->second.sources.Cardinality();
                if (row.packets == 0) continue;
            }
            if (by_country) {
                const std::string code = CountryCode(CountryOf(dim, key));
                if (auto it = names_en.find(code); it != names_en.end()) row.name = it->second;
                if (auto it = names_ja.find(code); it != names_ja.end()) row.name_ja = it->second;
                if (code == "??") row.name = "unknown (no data for the address)";
            }
            if (dim == Dimension::SERVICE || dim == Dimension::SOURCE_PORT)
                row.name = std::string(IanaNames::Builtin().ServiceName(ServiceKey{key}));
            if (dim == Dimension::ASN && asn_table) row.name = std::string(asn_table->Name(key));
            if (dim == Dimension::ASN && key == 0) row.name = "unknown (no data for the address, or special-purpose)";
            finish_row(row, double(std::max<uint64_t>(1, s.monitored_addresses)));
            s.rows.push_back(std::move(row));
        }
    }
    std::stable_sort(s.rows.begin(), s.rows.end(), [](const SummaryRow &a, const SummaryRow &b) {
        return a.packets != b.packets ? a.packets > b.packets : a.key < b.key;
    });
    s.total_rows = s.rows.size();
    if (options.compare && SummaryComparable(options.by)) {
        SummaryOptions earlier = options;
        earlier.compare = false;
        earlier.top = 0;
        earlier.from_day = options.previous ? options.previous->first : s.from_day - s.days;
        earlier.to_day = options.previous ? options.previous->second : s.from_day - 1;
        const Summary p = Summarize(store, earlier);
        s.previous = Summary::Previous{p.from_day, p.to_day, p.days, p.packets, p.unique_sources, p.monitored_addresses,
                                       PerDayPerIp(p.packets, p.days, p.monitored_addresses)};
        s.rows = CompareRows(std::move(s.rows), p.rows, options.top);
    } else if (options.top > 0 && s.rows.size() > options.top) {
        s.rows.resize(options.top);
    }

    std::map<std::string, uint64_t> events;
    store.ScanEvents(s.from_day, s.to_day, [&](int64_t, std::string_view name, uint64_t count) {
        if (name == "classify.dns.by_port") s.dns_by_port += count;
        else events[std::string(name)] += count;
    });
    s.decode_events.assign(events.begin(), events.end());
    return s;
}

namespace {

// Counters keep no packets, so a label learnt later can only be applied by counting the packets again.
// Only the names travel with --rdns-from: configured sensors must be given again.
std::string ResearchResidualFix(const Summary &s) {
    const bool configured =
        std::any_of(s.sensors.begin(), s.sensors.end(), [](const SummarySensor &ss) { return !ss.implicit; });
    return fmt::format("re-ingest the period's captures into a fresh store that has this store's reverse-DNS "
                       "names: darkscope ingest --store fresh.db --rdns-from {}{} CAPTURES... "
                       "(docs/enrichment.md#research-scanners)",
                       s.store, configured ? " --sensors SENSORS.toml" : "");
}

}  // namespace

nlohmann::json SummaryToJson(const Summary &s) {
    nlohmann::json j;
    j["store"] = s.store;
    j["from"] = FormatDay(s.from_day);
    j["to"] = FormatDay(s.to_day);
    j["days"] = s.days;
    j["empty"] = s.empty;
    j["monitored_addresses"] = s.monitored_addresses;
    j["files"] = {{"ingested", s.files}, {"partial", s.partial_files}};
    j["sensors"] = nlohmann::json::array();
    for (auto &ss : s.sensors)
        j["sensors"].push_back({{"name", ss.name},
                                {"networks", ss.networks},
                                {"location", ss.location},
                                {"provider", ss.provider},
                                {"addresses", ss.addresses},
                                {"implicit", ss.implicit}});
    j["totals"] = {{"packets", s.packets},
                   {"bytes", s.bytes},
                   {"unique_sources", s.unique_sources},
                   {"per_day_per_ip", PerDayPerIp(s.packets, s.days, s.monitored_addresses)},
                   {"unattributed_packets", s.unattributed_packets},
                   {"non_ip_frames", s.non_ip_frames},
                   {"dns_classified_by_port", s.dns_by_port}};
    j["by"] = ByName(s.by);
    j["total_rows"] = s.total_rows;
    j["rows"] = nlohmann::json::array();
    for (auto &r : s.rows) {
        nlohmann::json row = {{"key", r.key},
                              {"packets", r.packets},
                              {"bytes", r.bytes},
                              {"unique_sources", r.unique_sources},
                              {"per_day_per_ip", r.per_day_per_ip},
                              {"share", r.share}};
        if (s.by == SummaryBy::SOURCE) {
            row["first_seen"] = FormatTimestamp(r.first_ts);
            row["last_seen"] = FormatTimestamp(r.last_ts);
            row["mean_interarrival_s"] = r.mean_interarrival_s;
            row["destinations"] = r.destinations;
            row["services"] = r.services;
            row["sensors"] = r.sensors;
        }
        if (s.by == SummaryBy::SENSOR) row["addresses"] = r.addresses;
        if (s.by == SummaryBy::SIGNATURE) {
            row["sid"] = r.sid;
            row["category"] = r.category;
        } else if (s.by == SummaryBy::SOURCE) {
            row["tags"] = r.tags;
            row["origin"] = r.name;
            row["research"] = r.research;
        } else if (s.by == SummaryBy::TAG) {
            row["evidence"] = r.name;
        } else if (!r.name.empty() || !r.name_ja.empty()) {
            row["name"] = r.name;
            if (!r.name_ja.empty()) row["name_ja"] = r.name_ja;
        }
        if (s.previous) AddComparisonJson(row, r);
        j["rows"].push_back(std::move(row));
    }
    if (s.previous)
        j["previous"] = {{"from", FormatDay(s.previous->from_day)},
                         {"to", FormatDay(s.previous->to_day)},
                         {"days", s.previous->days},
                         {"packets", s.previous->packets},
                         {"unique_sources", s.previous->unique_sources},
                         {"monitored_addresses", s.previous->monitored_addresses},
                         {"per_day_per_ip", s.previous->per_day_per_ip}};
    j["exclude_research"] = s.exclude_research;
    if (s.exclude_research) {
        j["research_packets_excluded"] = s.research_packets_excluded;
        const Summary::ResearchResidual &r = s.research_residual;
        j["research_not_excluded"] = {{"packets", r.Packets()},
                                      {"rdns_sources", r.rdns_sources},
                                      {"rdns_packets", r.rdns_packets},
                                      {"partly_labelled_days", r.partly_labelled_days},
                                      {"partly_labelled_packets", r.partly_labelled_packets},
                                      {"fix", r.Packets() ? ResearchResidualFix(s) : ""}};
    }
    j["enrichment"] = s.enrichment;
    j["decode_events"] = nlohmann::json::object();
    for (auto &[name, count] : s.decode_events) j["decode_events"][name] = count;
    return j;
}

namespace {

std::string Thousands(uint64_t v) {
    std::string digits = std::to_string(v), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string Rate(double v) {
    if (v >= 100) return fmt::format("{:.0f}", v);
    if (v >= 1) return fmt::format("{:.2f}", v);
    return fmt::format("{:.4f}", v);
}

}  // namespace

std::string SummaryToText(const Summary &s) {
    std::string out;
    out += fmt::format("store    {}\n", s.store);
    if (s.empty) {
        out += "         no packets stored for this period (ingest captures with `darkscope ingest`)\n";
        return out;
    }
    out += fmt::format("period   {} .. {} ({} day{})\n", FormatDay(s.from_day), FormatDay(s.to_day), s.days,
                       s.days == 1 ? "" : "s");
    for (auto &ss : s.sensors) {
        if (ss.implicit)
            out += fmt::format("sensor   {} (implicit: no sensors file; {} distinct destinations seen are its "
                               "monitored addresses)\n",
                               ss.name, Thousands(ss.addresses));
        else
            out += fmt::format("sensor   {}  {}  {} addresses{}{}\n", ss.name, ss.networks, Thousands(ss.addresses),
                               ss.location.empty() ? "" : "  " + ss.location,
                               ss.provider.empty() ? "" : "  (" + ss.provider + ")");
    }
    const double total_rate = PerDayPerIp(s.packets, s.days, s.monitored_addresses);
    out += fmt::format("packets  {}  ({} per day per sensor IP)   unique sources {}\n", Thousands(s.packets),
                       Rate(total_rate), Thousands(s.unique_sources));
    if (s.previous) {
        // The NPA's wording: "X per day per IP, up Y (Z%)" against the period before.
        const double change = total_rate - s.previous->per_day_per_ip;
        out += fmt::format("         against {} .. {} ({} per day per sensor IP, {} unique sources): {} {}{}\n",
                           FormatDay(s.previous->from_day), FormatDay(s.previous->to_day),
                           Rate(s.previous->per_day_per_ip), Thousands(s.previous->unique_sources),
                           change >= 0 ? "up" : "down", Rate(std::abs(change)),
                           s.previous->per_day_per_ip > 0
                               ? fmt::format(" ({:+.1f}%)", change / s.previous->per_day_per_ip * 100)
                               : std::string(" (none before)"));
    }
    if (s.unattributed_packets)
        out += fmt::format("         {} packets to no sensor (unattributed{})\n", Thousands(s.unattributed_packets),
                           s.non_ip_frames ? fmt::format(", of which {} frames carry no IP", Thousands(s.non_ip_frames))
                                           : "");
    out += fmt::format("files    {} ingested{}\n\n", s.files,
                       s.partial_files ? fmt::format(", {} only partly readable", s.partial_files) : "");

    if (s.exclude_research) {
        out += fmt::format("research scanners excluded: {} packets of sources labelled at ingest (by AS, network, or "
                           "a reverse-DNS name cached before)\n",
                           Thousands(s.research_packets_excluded));
        const Summary::ResearchResidual &r = s.research_residual;
        if (r.Packets()) {
            // --by source and --by tag read per-source records and leave these sources out of their rows.
            const bool rows_too = s.by != SummaryBy::SOURCE && s.by != SummaryBy::TAG;
            out += fmt::format("research scanners NOT excluded: {} packets (and their sources) are still counted in the "
                               "totals{}:\n",
                               Thousands(r.Packets()), rows_too ? " and the rows below" : " (not in the rows below)");
            if (r.rdns_sources)
                out += fmt::format("  {} source{} that reverse DNS names research scanners, in days ingested before the "
                                   "names were cached: {} packets\n",
                                   Thousands(r.rdns_sources), r.rdns_sources == 1 ? "" : "s",
                                   Thousands(r.rdns_packets));
            if (r.partly_labelled_days)
                out += fmt::format("  {} day{} ingested partly before a source's label was known: {} packets\n",
                                   Thousands(r.partly_labelled_days), r.partly_labelled_days == 1 ? "" : "s",
                                   Thousands(r.partly_labelled_packets));
            out += "  fix: " + ResearchResidualFix(s) + "\n";
        }
        out += "\n";
    }
    const bool by_source = s.by == SummaryBy::SOURCE;
    const bool named = s.by == SummaryBy::COUNTRY || s.by == SummaryBy::COUNTRY_SERVICE || s.by == SummaryBy::ASN ||
                       s.by == SummaryBy::TAG || s.by == SummaryBy::SIGNATURE_COUNTRY ||
                       s.by == SummaryBy::CATEGORY_COUNTRY;
    const char *key_title = s.by == SummaryBy::SERVICE           ? "service"
                            : s.by == SummaryBy::CLASS           ? "class"
                            : s.by == SummaryBy::SOURCE_PORT     ? "source port"
                            : s.by == SummaryBy::SENSOR          ? "sensor"
                            : s.by == SummaryBy::COUNTRY         ? "country"
                            : s.by == SummaryBy::COUNTRY_SERVICE ? "country service"
                            : s.by == SummaryBy::ASN             ? "AS"
                            : s.by == SummaryBy::TAG             ? "tag"
                            : s.by == SummaryBy::SIGNATURE       ? "signature [sid]"
                            : s.by == SummaryBy::CATEGORY        ? "category"
                            : s.by == SummaryBy::SIGNATURE_COUNTRY ? "country (signature hits)"
                            : s.by == SummaryBy::CATEGORY_COUNTRY  ? "country category"
                                                                   : "source";
    size_t key_width = std::max<size_t>(12, std::string_view(key_title).size());
    for (auto &r : s.rows) key_width = std::max(key_width, r.key.size());
    key_width = std::min<size_t>(key_width, s.by == SummaryBy::SIGNATURE ? 72 : 40);
    if (s.previous) {
        // NPA Table 2-1's columns: rank, previous rank, per day per IP and its change, increase and
        // decrease rank; rows outside the top N follow, shown for their increase or decrease.
        out += fmt::format("{:>4}  {:>4}  {:<{}}  {:>12}  {:>14}  {:>14}  {:>8}  {:>4}  {:>4}  {:>14}{}\n", "rank",
                           "prev", key_title, key_width, "packets", "per day per IP", "change", "change%", "inc", "dec",
                           "unique sources", named ? "  name" : "");
        auto rank_text = [](size_t rank) { return rank ? std::to_string(rank) : std::string("-"); };
        bool outside_said = false;
        for (auto &r : s.rows) {
            if (r.outside_top && !outside_said) {
                out += fmt::format("      not in the top rows, but among the {} largest increases or decreases:\n",
                                   COMPARE_MOVERS);
                outside_said = true;
            }
            const std::string change = (r.change_per_day_per_ip >= 0 ? "+" : "-") + Rate(std::abs(r.change_per_day_per_ip));
            out += fmt::format("{:>4}  {:>4}  {:<{}}  {:>12}  {:>14}  {:>14}  {:>8}  {:>4}  {:>4}  {:>14}{}\n",
                               rank_text(r.rank), rank_text(r.previous_rank), r.key, key_width, Thousands(r.packets),
                               Rate(r.per_day_per_ip), change,
                               r.change_percent ? fmt::format("{:+.1f}%", *r.change_percent) : std::string("new"),
                               rank_text(r.increase_rank), rank_text(r.decrease_rank), Thousands(r.unique_sources),
                               r.name.empty() && r.name_ja.empty()
                                   ? ""
                                   : "  " + r.name + (r.name_ja.empty() ? "" : " / " + r.name_ja));
        }
    } else if (by_source) {
        out += fmt::format("{:>4}  {:<{}}  {:>12}  {:>7}  {:>12}  {:>6}  {:>8}  {:>7}  {:<20}  {:<20}\n", "rank",
                           key_title, key_width, "packets", "share", "mean gap s", "dsts", "services", "sensors",
                           "first seen", "last seen");
    } else {
        out += fmt::format("{:>4}  {:<{}}  {:>12}  {:>14}  {:>14}  {:>7}{}\n", "rank", key_title, key_width, "packets",
                           "per day per IP", "unique sources", "share", named ? "  name" : "");
    }
    size_t rank = 0;
    for (auto &r : s.rows) {
        if (s.previous) break;  // the comparison's table is above
        ++rank;
        if (by_source)
            out += fmt::format("{:>4}  {:<{}}  {:>12}  {:>6.2f}%  {:>12.3f}  {:>6}  {:>8}  {:>7}  {:<20}  {:<20}{}{}{}\n",
                               rank, r.key, key_width, Thousands(r.packets), r.share * 100, r.mean_interarrival_s,
                               r.destinations, r.services, r.sensors, FormatTimestamp(r.first_ts),
                               FormatTimestamp(r.last_ts), r.name.empty() ? "" : "  " + r.name,
                               r.research.empty() ? "" : "  research: " + r.research,
                               r.tags.empty() ? "" : "  tags: " + fmt::format("{}", fmt::join(r.tags, ", ")));
        else
            out += fmt::format("{:>4}  {:<{}}  {:>12}  {:>14}  {:>14}  {:>6.2f}%{}\n", rank, r.key, key_width,
                               Thousands(r.packets), Rate(r.per_day_per_ip), Thousands(r.unique_sources),
                               r.share * 100,
                               r.name.empty() && r.name_ja.empty()
                                   ? ""
                                   : "  " + r.name + (r.name_ja.empty() ? "" : " / " + r.name_ja));
    }
    // Rows of this period shown (a comparison also shows keys gone since the previous one).
    const size_t shown = s.previous ? size_t(std::count_if(s.rows.begin(), s.rows.end(),
                                                           [](const SummaryRow &r) { return r.rank != 0; }))
                                    : s.rows.size();
    if (shown < s.total_rows) out += fmt::format("      ... {} more (--top 0 shows all)\n", s.total_rows - shown);

    if (!s.enrichment.empty()) out += "\nregions and AS numbers decided by:\n";
    for (const auto &e : s.enrichment) {
        std::string indented = e;
        for (size_t pos = 0; (pos = indented.find('\n', pos)) != std::string::npos; pos += 3) indented.replace(pos, 1, "\n  ");
        out += "  " + indented + "\n";
    }
    if (!s.decode_events.empty() || s.dns_by_port) {
        out += "\ndecode events (packets still counted above)\n";
        for (auto &[name, count] : s.decode_events) out += fmt::format("  {:<40} {:>12}\n", name, Thousands(count));
        if (s.dns_by_port)
            out += fmt::format("  {:<40} {:>12}  (DNS told query/response by port: payload not DNS)\n",
                               "classify.dns.by_port", Thousands(s.dns_by_port));
    }
    return out;
}

}  // namespace darkscope
