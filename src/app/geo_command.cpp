// darkscope geo: build the country and AS lookup files, and look addresses up.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <filesystem>

#include "app/commands.hpp"
#include "enrich/country.hpp"
#include "enrich/enrichment.hpp"
#include "enrich/range_table.hpp"

namespace darkscope::app {
namespace {

struct GeoArgs {
    std::vector<std::string> inputs;
    std::string output;
    std::string description;
    std::string geoip, asn, research_list;
    std::vector<std::string> addresses;
};

int RunImportAsn(const GeoArgs &args) {
    RangeTable t;
    t.kind = RangeKind::ASN;
    try {
        for (const auto &in : args.inputs) ReadAsnCsv(in, t);
        const size_t dropped = t.Finish();
        t.description = args.description.empty() ? fmt::format("{}", fmt::join(args.inputs, ", ")) : args.description;
        t.Save(args.output);
        fmt::print(stderr, "{}: {} IPv4 and {} IPv6 ranges, {} AS names{}\n", args.output, t.v4.size(), t.v6.size(),
                   t.names.size(), dropped ? fmt::format("; {} overlapping ranges dropped", dropped) : "");
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope geo import-asn: {}\n", e.what());
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int RunImportRir(const GeoArgs &args) {
    RangeTable t;
    t.kind = RangeKind::COUNTRY;
    std::vector<std::string> headers;
    try {
        for (const auto &in : args.inputs)
            for (auto &h : ReadRirDelegated(in, t)) headers.push_back(h);
        const size_t dropped = t.Finish();
        t.description = args.description.empty()
                            ? fmt::format("RIR delegated statistics ({}); data of the RIRs, the NRO's statistics "
                                          "(https://www.nro.net/about/rirs/statistics/)",
                                          fmt::join(headers, ", "))
                            : args.description;
        t.Save(args.output);
        fmt::print(stderr, "{}: {} IPv4 and {} IPv6 country ranges{}\n", args.output, t.v4.size(), t.v6.size(),
                   dropped ? fmt::format("; {} overlapping ranges dropped", dropped) : "");
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope geo import-rir: {}\n", e.what());
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int RunLookup(const GeoArgs &args) {
    try {
        EnrichmentOptions eo;
        if (!args.geoip.empty()) eo.geo = args.geoip;
        if (!args.asn.empty()) eo.asn = args.asn;
        if (!args.research_list.empty()) eo.research = args.research_list;
        auto e = Enrichment::Open(eo);
        for (const auto &text : args.addresses) {
            auto a = IpAddress::Parse(text);
            if (!a) {
                fmt::print(stderr, "darkscope geo lookup: {}: not an address\n", text);
                return EXIT_USAGE;
            }
            SourceInfo info = e->Lookup(*a);
            std::string research;
            if (info.research && e->Research()) research = fmt::format("  research: {}", e->Research()->Name(info.research));
            fmt::print("{}  {}  AS{}  {}{}\n", text, CountryCode(info.country), info.asn,
                       e->Asn() ? e->Asn()->Name(info.asn) : "", research);
        }
        fmt::print(stderr, "{}\n", e->Describe());
    } catch (const std::exception &e) {
        fmt::print(stderr, "darkscope geo lookup: {}\n", e.what());
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

}  // namespace

void RegisterGeo(CLI::App &app, int &exit_code) {
    auto args = std::make_shared<GeoArgs>();
    auto *geo = app.add_subcommand("geo", "Country and AS lookup data: build it, look addresses up");
    geo->require_subcommand(1);
    geo->footer(
        "Countries come from RIR allocation data, as TSUBAME decides regions: by default the pinned npm\n"
        "package @ip-location-db/geo-whois-asn-country-mmdb (CC BY 4.0, NRO), installed by\n"
        "scripts/setup.sh into data/geo. `ingest --geoip FILE` takes any MaxMind-format database\n"
        "instead, or a file built here from the RIRs' delegated-extended statistics.\n\n"
        "Examples:\n"
        "  darkscope geo import-rir -o rir.dsrange delegated-*-extended-latest\n"
        "  darkscope ingest --geoip rir.dsrange capture.pcap\n"
        "  darkscope geo lookup 8.8.8.8 133.1.1.1");

    auto *asn = geo->add_subcommand("import-asn", "Build the AS lookup file from @ip-location-db/asn CSV files");
    asn->add_option("csv", args->inputs, "asn-ipv4.csv, asn-ipv6.csv")->required()->check(CLI::ExistingFile);
    asn->add_option("-o,--output", args->output, "Lookup file to write")->required();
    asn->add_option("--description", args->description, "Which data, version and licence (stored in the file)");
    asn->callback([args, &exit_code] { exit_code = RunImportAsn(*args); });

    auto *rir = geo->add_subcommand("import-rir", "Build the country lookup file from RIR delegated(-extended) statistics");
    rir->add_option("files", args->inputs, "delegated-apnic-extended-latest, ...")->required()->check(CLI::ExistingFile);
    rir->add_option("-o,--output", args->output, "Lookup file to write")->required();
    rir->add_option("--description", args->description, "Which data, version and licence (stored in the file)");
    rir->callback([args, &exit_code] { exit_code = RunImportRir(*args); });

    auto *lookup = geo->add_subcommand("lookup", "Country, AS and research label of addresses");
    lookup->add_option("addresses", args->addresses, "IPv4 or IPv6 addresses")->required();
    lookup->add_option("--geoip", args->geoip, "Country database (default: data/geo)")->check(CLI::ExistingFile);
    lookup->add_option("--asn", args->asn, "AS lookup file (default: data/geo/asn.dsrange)")->check(CLI::ExistingFile);
    lookup->add_option("--research-list", args->research_list, "Research scanners (TOML)")->check(CLI::ExistingFile);
    lookup->callback([args, &exit_code] { exit_code = RunLookup(*args); });
}

}  // namespace darkscope::app
