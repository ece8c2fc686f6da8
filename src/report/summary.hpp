#pragma once
/// `darkscope summary`: totals and one breakdown over a period, read from the store.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.hpp"

namespace darkscope {

enum class SummaryBy {
    SERVICE,
    CLASS,
    SOURCE_PORT,
    SOURCE,
    SENSOR,
    COUNTRY,
    COUNTRY_SERVICE,
    ASN,
    TAG,
    SIGNATURE,
    CATEGORY,
    SIGNATURE_COUNTRY,  // signature hits by source country (the NPA's Table 3-2)
    CATEGORY_COUNTRY,   // signature hits by category and source country (Figure 3-3)
};
std::optional<SummaryBy> ParseSummaryBy(std::string_view text);

struct SummaryOptions {
    std::optional<int64_t> from_day;
    std::optional<int64_t> to_day;
    SummaryBy by = SummaryBy::SERVICE;
    size_t top = 20;  // 0: every row
    /// Leave research scanners out of every count: those labelled at ingest (by AS, network, or a
    /// reverse-DNS name cached before the ingest) exactly, their packets and sources subtracted per key;
    /// with --by source and --by tag also those whose cached name matches a pattern of the list now.
    /// What stays counted of the latter is measured and reported (Summary::research_residual).
    bool exclude_research = false;
    /// The research list for names and reverse-DNS patterns (default data/research_scanners.toml).
    std::optional<std::string> research_list;
    /// Set each row beside the previous period of the same length, as the NPA's tables do (rank,
    /// previous rank, change per day per IP, increase and decrease rank), and keep the rows outside the
    /// top N that rank in the top COMPARE_MOVERS increases or decreases. Not with --by source or tag.
    bool compare = false;
    /// With compare: the days [first, second] to compare with, instead of as many days just before.
    std::optional<std::pair<int64_t, int64_t>> previous;
    /// Count only the sensors whose name, location, last part of the location ("JP" of "Tokyo, JP") or
    /// provider equals one of these (ASCII case ignored); empty: every sensor. Packets to no sensor are
    /// reported whole either way.
    std::vector<std::string> sensor_group;
    /// False: the totals' distinct sources (Summary::unique_sources, the sensor rows') are not counted and stay
    /// 0, and the TOTAL dimension is read without its sources: for a caller that counts them its own way.
    bool total_sources = true;
};
/// Whether a sensor belongs to a group given as names, locations or providers (SummaryOptions::sensor_group).
bool InSensorGroup(const Sensor &sensor, const std::vector<std::string> &group);
/// How many of the largest increases and decreases are shown even outside the top N (NPA Table 2-1).
constexpr size_t COMPARE_MOVERS = 5;
/// Whether a breakdown has keys that mean the same in two periods (every one but source and tag).
bool SummaryComparable(SummaryBy by);

struct SummaryRow {
    std::string key;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t unique_sources = 0;
    double per_day_per_ip = 0;
    double share = 0;  // of all attributed packets in the period
    // --by source only
    TimestampNs first_ts = 0;
    TimestampNs last_ts = 0;
    double mean_interarrival_s = 0;
    uint64_t destinations = 0;
    uint64_t services = 0;
    uint64_t sensors = 0;
    // --by sensor only
    uint64_t addresses = 0;
    // --by country, asn, country-service, signature-country, category-country: country names in English and
    // Japanese, AS organisation
    std::string name;
    std::string name_ja;
    // --by source: tags with their evidence ("masscan (masscan-ip-id 1001/1001)"), research label
    std::vector<std::string> tags;
    std::string research;
    // --by signature only
    uint32_t sid = 0;
    std::string category;
    // --compare only. Ranks are 1-based by packets; 0 means the key had no packets in that period.
    size_t rank = 0;
    size_t previous_rank = 0;
    uint64_t previous_packets = 0;
    double previous_per_day_per_ip = 0;
    double change_per_day_per_ip = 0;        // this period's minus the previous one's
    std::optional<double> change_percent;    // none when the previous period had none of the key
    size_t increase_rank = 0, decrease_rank = 0;  // by change per day per IP; 0: no such change
    bool outside_top = false;  // shown only because it ranks among the largest increases or decreases
};

struct SummarySensor {
    std::string name;
    std::string networks;
    std::string location;
    std::string provider;
    uint64_t addresses = 0;
    bool implicit = false;
};

struct Summary {
    std::string store;
    int64_t from_day = 0;
    int64_t to_day = 0;
    int64_t days = 0;
    bool empty = true;  // no data in the store (or the period)
    uint64_t monitored_addresses = 0;
    std::vector<SummarySensor> sensors;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t unique_sources = 0;
    uint64_t unattributed_packets = 0;
    uint64_t non_ip_frames = 0;
    SummaryBy by = SummaryBy::SERVICE;
    size_t total_rows = 0;  // before --top
    std::vector<SummaryRow> rows;
    std::vector<std::pair<std::string, uint64_t>> decode_events;
    uint64_t dns_by_port = 0;  // DNS packets told query/response by port, not by the QR bit
    size_t files = 0;
    size_t partial_files = 0;
    /// Which data decided countries and AS numbers, with its attribution: one entry per distinct
    /// description among the files ingested in the period.
    std::vector<std::string> enrichment;
    bool exclude_research = false;
    uint64_t research_packets_excluded = 0;
    /// With exclude_research: the packets of research scanners that stay in the counts, because their
    /// label was not known when the packets were ingested. Counters keep no packets, so they cannot be
    /// relabelled; re-ingesting the captures after `enrich rdns` (ingest --rdns-from) removes them.
    struct ResearchResidual {
        /// Sources that reverse DNS names research scanners now, with days in the period whose records
        /// were ingested without the label, and their packets on those days.
        uint64_t rdns_sources = 0;
        uint64_t rdns_packets = 0;
        /// Days whose files were ingested partly before and partly after a source got its label (for
        /// example `enrich rdns` between two hourly files of a day): the day's record carries the label,
        /// the counters hold the earlier files' packets without it. Packets of such sources not in the
        /// research counters, and the days.
        uint64_t partly_labelled_packets = 0;
        uint64_t partly_labelled_days = 0;
        uint64_t Packets() const { return rdns_packets + partly_labelled_packets; }
    };
    ResearchResidual research_residual;
    /// With SummaryOptions::compare: the previous period of the same length.
    struct Previous {
        int64_t from_day = 0, to_day = 0, days = 0;
        uint64_t packets = 0;
        uint64_t unique_sources = 0;
        uint64_t monitored_addresses = 0;
        double per_day_per_ip = 0;
    };
    std::optional<Previous> previous;
};

Summary Summarize(Store &store, const SummaryOptions &options);
/// The NPA's table form (Table 2-1) over rows sorted by packets: rank and previous rank, change per day per
/// IP, increase and decrease rank over every key of either period; keeps the top N (0: all) and the rows
/// outside it among the COMPARE_MOVERS largest increases or decreases, keys gone since included.
std::vector<SummaryRow> CompareRows(std::vector<SummaryRow> rows, const std::vector<SummaryRow> &previous, size_t top);
double PerDayPerIp(uint64_t packets, int64_t days, uint64_t addresses);
/// The comparison fields of a row (rank, previous rank, change, increase and decrease rank) into its JSON.
void AddComparisonJson(nlohmann::json &row, const SummaryRow &r);
/// Country names from the pinned npm i18n-iso-countries (data/geo) by ISO code, in "en" or "ja"; empty if absent.
std::map<std::string, std::string> CountryNames(std::string_view lang);
nlohmann::json SummaryToJson(const Summary &s);
/// A terminal table; `width` is the terminal width (columns are not truncated below 80).
std::string SummaryToText(const Summary &s);

}  // namespace darkscope
