#include "report/labels.hpp"

#include <fmt/format.h>

#include <cmath>

namespace darkscope {

namespace {

struct LabelText {
    std::string_view id;
    std::string_view en;
    std::string_view ja;
};

// One row a label; Japanese as the seed reports write it (NPA 2010 Q2 and 2014-02, TSUBAME 2024 Q4).
constexpr LabelText LABELS[] = {
    {"title", "Darknet observation report", "インターネット観測結果等"},
    {"period", "Period", "今期"},
    {"period_and_sensors", "Period and sensors", "対象期間とセンサー"},
    {"compared_with", "compared with", "前期"},
    {"previous_period", "Previous period", "前期"},
    {"days", "days", "日間"},
    {"generated_at", "Generated", "作成日時"},
    {"store", "Store", "データストア"},
    {"sensor_group", "Sensor group", "センサーグループ"},
    {"all_sensors", "all sensors", "全センサー"},
    {"sensors", "Sensors", "センサー"},
    {"sensor", "Sensor", "センサー"},
    {"networks", "Networks", "ネットワーク"},
    {"location", "Location", "設置場所"},
    {"provider", "Provider", "事業者"},
    {"addresses", "Addresses", "アドレス数"},
    {"implicit", "(implicit)", "（暗黙）"},
    {"monitored_addresses", "Monitored addresses", "観測アドレス数"},
    {"overview", "Overview", "概況"},
    {"overview_packets", "Packets reaching the sensors: ", "今期のセンサーに対するアクセス件数は"},
    {"overview_sources", "Unique sources: ", "発信元IPアドレス数は"},
    {"top_services", "The top destination ports, by packets: ", "アクセス件数の上位ポートは、"},
    {"top_regions", "The top source regions, by packets: ", "アクセス件数の上位国・地域は、"},
    {"figure", "Figure", "指標"},
    {"this_period", "This period", "今期"},
    {"previous", "Previous period", "前期"},
    {"change", "Change", "増減"},
    {"change_percent", "Change (%)", "増減率"},
    {"packets", "Packets", "アクセス件数"},
    {"bytes", "Bytes", "バイト数"},
    {"unique_sources", "Unique sources", "発信元IPアドレス数"},
    {"per_day_per_ip", "Packets per day per IP", "今期件数（一日・1IP当たり）"},
    {"unique_sources_per_day", "Unique sources per day", "発信元IPアドレス数（一日当たり）"},
    {"services", "By destination port", "宛先ポート別"},
    {"services_tsubame", "Most probed services (top 5)", "頻繁に探索されたサービスのトップ5"},
    {"services_table", "Table 2-1 Packets by destination port", "表 2-1 宛先ポート別検知件数"},
    {"regions", "By source region", "発信元国・地域別"},
    {"regions_tsubame", "Source regions (top 5)", "探索元地域トップ5"},
    {"regions_table", "Table 2-2 Packets by source region", "表 2-2 発信元国・地域別検知件数"},
    {"rank", "Rank", "今期順位"},
    {"previous_rank", "Previous rank", "前期順位"},
    {"tsubame_rank", "Rank", "順位"},
    {"tsubame_previous_rank", "Previous period's rank", "前期の順位"},
    {"port", "Port", "ポート"},
    {"destination_port", "Destination port (service)", "宛先ポート番号"},
    {"region", "Region", "国・地域"},
    {"source_region", "Source region", "送信元地域"},
    {"source_port", "Source port", "発信元ポート"},
    {"category", "Attack category", "攻撃手法"},
    {"count_per_day_per_ip", "Packets per day per IP", "今期件数（一日・1IP当たり）"},
    {"change_per_day_per_ip", "Change per day per IP (%, absolute)", "前期比（一日・1IP当たり）"},
    {"increase_rank", "Increase rank", "増加順位"},
    {"decrease_rank", "Decrease rank", "減少順位"},
    {"new", "new", "新規"},
    {"others", "others", "その他"},
    {"outside_top", "outside the top", "圏外"},
    {"no_previous_data", "no data", "データなし"},
    {"outside_top_note", "† outside the top {}: shown for its rank among the largest increases or decreases",
     "† 上位{}位の圏外（増加順位・減少順位により掲載）"},
    {"series", "Daily series", "日別推移"},
    {"series_services", "Top-5 destination ports: packets per day per IP", "宛先ポート別上位5件の推移（一日・1IP当たり）"},
    {"series_categories", "Signature detections by attack category: per day per IP", "攻撃手法別検知件数の推移（一日・1IP当たり）"},
    {"series_regions", "Top-5 source regions: packets per day per IP", "発信元国・地域別上位5件の推移（一日・1IP当たり）"},
    {"series_weekly", "The period is long: the table gives the mean of each 7-day block from the first day; the HTML chart shows every day.",
     "期間が長いため、表は初日からの7日ごとの平均を示す（HTML のグラフは日ごと）。"},
    {"day", "Day", "日付"},
    {"week_from", "7 days from", "7日間（開始日）"},
    {"ratios", "Ratios", "比率"},
    {"ratio_services", "Destination port ratio", "宛先ポート比率"},
    {"ratio_categories", "Attack category ratio (signature detections)", "攻撃手法別検知件数の比率"},
    {"ratio_regions", "Source region ratio", "発信元国・地域別比率"},
    {"ratio_note", "Shares of all packets each group of sensors received; rounded, so a column may not add up to 100%.",
     "各センサー群の全パケットに占める比率。小数点第二位で四捨五入しているため、合計が100%にならないことがある。"},
    {"key", "Key", "項目"},
    {"region_service_mix", "Destination ports of the top source regions", "発信元国・地域別上位のポート別比率"},
    {"flow", "Flow from the top source regions to the sensors (packets)", "発信元国・地域からセンサーへの流れ（パケット数）"},
    {"services_share", "Destination ports (share)", "宛先ポート（比率）"},
    {"backscatter", "DoS attack victims (backscatter)", "DoS攻撃被害観測状況"},
    {"backscatter_what", "SYN/ACK and RST/ACK packets", "SYN/ACK及びRST/ACKパケット"},
    {"backscatter_packets", "SYN/ACK and RST/ACK packets: ", "SYN/ACK及びRST/ACKパケットの検知件数は"},
    {"backscatter_sources", "Their unique sources: ", "その発信元IPアドレス数は"},
    {"backscatter_by_port", "Backscatter by source port", "跳ね返りパケット発信元ポート別検知件数"},
    {"backscatter_by_region", "Backscatter by source region", "跳ね返りパケット発信元国・地域別検知件数"},
    {"backscatter_series", "Backscatter per day", "跳ね返りパケットの推移"},
    {"dns", "DNS", "DNS"},
    {"dns_queries", "DNS queries: ", "DNS問い合わせは"},
    {"dns_responses", "DNS responses: ", "DNS応答は"},
    {"queries", "Queries", "問い合わせ"},
    {"responses", "Responses", "応答"},
    {"dns_by_region", "DNS responses by source region", "DNS応答の発信元国・地域別検知件数"},
    {"dns_series", "DNS per day", "DNSの推移"},
    {"dns_by_port", "Queries and responses are told apart by port (53 as destination or as source), not by the QR bit.",
     "問い合わせと応答は、QRビットではなくポート（宛先53番／発信元53番）で区別している。"},
    {"dns_study_open", "Open resolvers (by their latest probe): ", "オープンリゾルバ（最新の調査による）は"},
    {"dns_study_non_open", "Other DNS sources: ", "それ以外のDNS送信元は"},
    {"dns_study_unprobed", "No DNS source has a resolver verdict yet (darkscope probe resolvers, or probe import-resolvers): open and non-open resolvers are not told apart.",
     "DNS送信元のリゾルバ調査結果がないため（darkscope probe resolvers）、オープンリゾルバとそれ以外を区別していない。"},
    {"dns_study_probed", "DNS sources with a resolver verdict: ", "リゾルバ調査結果のあるDNS送信元: "},
    {"dns_study_zones", "Zones with the most DNS messages (registrable domain of the question)",
     "DNSメッセージの多いゾーン（質問名の登録可能ドメイン）"},
    {"zone", "Zone", "ゾーン"},
    {"distinct_names", "Distinct names", "異なる名前"},
    {"name_examples", "Names", "名前の例"},
    {"signatures", "Signature detections", "シグネチャを用いた不正侵入等の検知"},
    {"signatures_packets", "Signature detections: ", "今期のシグネチャを用いた不正侵入等の検知件数は"},
    {"signatures_none", "No signature rule ran on this period: there are no detections to report.",
     "今期はシグネチャによる検知を実施していないため、検知件数はない。"},
    {"signatures_categories", "Table 3-1 Detections by attack category", "表 3-1 シグネチャを用いた不正侵入等の攻撃手法別検知件数"},
    {"signatures_regions", "Table 3-2 Detections by source region", "表 3-2 シグネチャを用いた不正侵入等の発信元国・地域別検知件数"},
    {"decode_events", "Decode events", "デコードイベント"},
    {"event", "Event", "イベント"},
    {"count", "Count", "件数"},
    {"unattributed_packets", "Packets attributed to no sensor", "どのセンサーにも帰属しないパケット"},
    {"non_ip_frames", "Non-IP frames", "IP以外のフレーム"},
    {"phenomena", "Notable phenomena", "注目された現象"},
    {"phenomena_not_run", "No detector has run on this period, so this report states no notable phenomenon.",
     "今期は検知器を実行していないため、注目された現象は記載しない。"},
    {"phenomena_none", "The detectors found no notable phenomenon in this period.", "検知器は今期、注目すべき現象を検出しなかった。"},
    {"evidence", "Evidence", "根拠"},
    {"phenomena_runs", "Detectors that looked at this period:", "今期を対象に実行した検知器:"},
    {"phenomena_counts", "Events found, by kind:", "検知した事象の種類別件数:"},
    {"phenomena_shown", "The largest of each kind are described below.", "以下に各種類の規模の大きいものを示す。"},
    {"run_ingest", "during ingest", "取り込み時"},
    {"run_series", "over the stored counters", "集計値に対して"},
    {"kind_surge", "Surge", "急増"},
    {"kind_new-service", "New service", "新たなサービスへのアクセス"},
    {"kind_campaign", "Multi-sensor campaign", "複数センサーへの一斉送信"},
    {"kind_scan", "Scan", "スキャン"},
    {"kind_backscatter", "DoS backscatter", "DoS攻撃のバックスキャッタ"},
    {"kind_dns-reflection", "DNS reflection", "DNSリフレクション"},
    {"kind_water-torture", "DNS water torture", "DNS水責め攻撃"},
    {"magnitude", "Magnitude", "規模"},
    {"baseline", "Baseline", "ベースライン"},
    {"sensors_label", "Sensors", "センサー"},
    {"regions_label", "Source regions", "送信元国・地域"},
    {"top_sources", "Top sources", "主な送信元"},
    {"event_chart", "Packets over time, around the event", "事象前後のパケット数の推移"},
    {"event_context", "All sources' packets per hour around the event", "事象前後の全送信元の1時間あたりパケット数"},
    {"event_flow", "Packets from source regions to sensors", "送信元国・地域からセンサーへのパケット数"},
    {"data_sources", "Data sources", "データソース"},
    {"files", "Capture files", "キャプチャファイル"},
    {"file", "File", "ファイル"},
    {"first", "First packet", "最初のパケット"},
    {"last", "Last packet", "最後のパケット"},
    {"status", "Status", "状態"},
    {"message", "Message", "メッセージ"},
    {"enrichment", "Region and AS data", "地域・ASデータ"},
    {"none", "none", "なし"},
    {"chart_unavailable", "Charts need the ECharts library, which was not found when this report was written.",
     "グラフの描画に必要な ECharts ライブラリが見つからなかったため、グラフは表示されない。"},
};

// 12161.84 -> "12,161.8"; the sign is the caller's.
std::string Grouped(double magnitude, int decimals) {
    std::string text = fmt::format("{:.{}f}", magnitude, decimals);
    const size_t point = text.find('.');
    const size_t int_digits = point == std::string::npos ? text.size() : point;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (i > 0 && i < int_digits && (int_digits - i) % 3 == 0) out += ',';
        out += text[i];
    }
    return out;
}

// Whether the value shows as zero at this many decimals (no "-0.0", no "+0.00").
bool RoundsToZero(double v, int decimals) {
    return std::abs(v) < 0.5 * std::pow(10.0, -decimals);
}

}  // namespace

std::optional<ReportLang> ParseReportLang(std::string_view text) {
    auto lower = [](std::string_view s) {
        std::string out(s);
        for (char &c : out)
            if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
        return out;
    };
    const std::string t = lower(text);
    if (t == "en") return ReportLang::EN;
    if (t == "ja") return ReportLang::JA;
    return std::nullopt;
}

std::string_view ReportLangCode(ReportLang lang) {
    return lang == ReportLang::JA ? "ja" : "en";
}

std::string_view Label(std::string_view id, ReportLang lang) {
    for (const LabelText &l : LABELS)
        if (l.id == id) return lang == ReportLang::JA ? l.ja : l.en;
    return id;
}

// A small telescope's figures per day per IP can be far below one: a value that is not zero but would print
// as zero keeps two significant digits (0.0034), up to six decimals.
int DecimalsFor(double value, int decimals) {
    if (value == 0 || !RoundsToZero(value, decimals)) return decimals;
    int d = decimals;
    while (d < 6 && RoundsToZero(value, d)) ++d;
    if (RoundsToZero(value, d)) return decimals;  // zero for every purpose
    return std::min(6, d + 1);
}

std::string FormatNumber(std::optional<double> value, int decimals) {
    if (!value || !std::isfinite(*value)) return std::string(NO_VALUE);
    decimals = DecimalsFor(*value, decimals);
    if (RoundsToZero(*value, decimals)) return Grouped(0, decimals);
    return (*value < 0 ? "-" : "") + Grouped(std::abs(*value), decimals);
}

std::string FormatSigned(std::optional<double> value, int decimals) {
    if (!value || !std::isfinite(*value)) return std::string(NO_VALUE);
    decimals = DecimalsFor(*value, decimals);
    if (RoundsToZero(*value, decimals)) return Grouped(0, decimals);
    return (*value < 0 ? "-" : "+") + Grouped(std::abs(*value), decimals);
}

std::string FormatPercent(std::optional<double> percent, int decimals) {
    if (!percent || !std::isfinite(*percent)) return std::string(NO_VALUE);
    return FormatNumber(percent, decimals) + "%";
}

std::string FormatSignedPercent(std::optional<double> percent, int decimals) {
    if (!percent || !std::isfinite(*percent)) return std::string(NO_VALUE);
    return FormatSigned(percent, decimals) + "%";
}

std::string FormatShare(std::optional<double> fraction) {
    if (!fraction) return std::string(NO_VALUE);
    return FormatPercent(*fraction * 100, 1);
}

std::string FormatRank(std::optional<int64_t> rank, ReportLang lang) {
    if (!rank) return std::string(NO_VALUE);
    return lang == ReportLang::JA ? fmt::format("{}位", *rank) : fmt::format("{}", *rank);
}

std::string OutsideTop(int64_t top, ReportLang lang) {
    return lang == ReportLang::JA ? fmt::format("TOP{} 外", top) : fmt::format("outside top {}", top);
}

std::string FormatChangeCell(std::optional<double> change, std::optional<double> change_percent, ReportLang lang) {
    if (!change) return std::string(NO_VALUE);
    const std::string unit = lang == ReportLang::JA ? " 件" : "";
    const std::string lead = change_percent ? FormatSignedPercent(change_percent) : std::string(Label("new", lang));
    return fmt::format("{} ({}{})", lead, FormatSigned(change, 2), unit);
}

std::string ChangePhrase(std::optional<double> change, std::optional<double> change_percent, std::string_view unit_ja,
                         ReportLang lang) {
    const bool ja = lang == ReportLang::JA;
    if (!change) return ja ? "前期のデータはない" : "the previous period has no data";
    if (RoundsToZero(*change, 1)) return ja ? "前期と同じであった" : "unchanged from the previous period";
    const bool up = *change > 0;
    const std::string amount = FormatNumber(std::abs(*change), 1);
    if (ja) {
        const std::string_view verb = up ? "増加した" : "減少した";
        if (!change_percent) return fmt::format("前期と比較して {} {}{}（前期は0）", amount, unit_ja, verb);
        return fmt::format("前期と比較して {} {} ({}) {}", amount, unit_ja, FormatPercent(std::abs(*change_percent)),
                           verb);
    }
    const std::string_view verb = up ? "up" : "down";
    if (!change_percent) return fmt::format("{} {} from the previous period (which had none)", verb, amount);
    return fmt::format("{} {} ({}) from the previous period", verb, amount, FormatPercent(std::abs(*change_percent)));
}

std::string PerDayPerIpSentence(std::optional<double> value, std::optional<double> change,
                                std::optional<double> change_percent, ReportLang lang) {
    const std::string phrase = ChangePhrase(change, change_percent, "件", lang);
    if (lang == ReportLang::JA) return fmt::format("一日・1IP当たり {} 件で、{}", FormatNumber(value, 1), phrase);
    return fmt::format("{} packets per day per IP, {}", FormatNumber(value, 1), phrase);
}

}  // namespace darkscope
