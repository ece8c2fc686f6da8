#pragma once
/// The words and number forms of the report's Markdown and HTML writers, in English and in Japanese.
/// Japanese follows the seed reports' terms (the NPA's 宛先ポート別検知件数 tables, JPCERT/CC TSUBAME's
/// 送信元地域), so that a reader of those reports finds the same headings.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace darkscope {

enum class ReportLang { EN, JA };

/// "en" or "ja" (case-insensitive); nullopt otherwise.
std::optional<ReportLang> ParseReportLang(std::string_view text);
/// "en" or "ja", as `<html lang>` and the JSON's `lang` write it.
std::string_view ReportLangCode(ReportLang lang);

/// The heading or column label with this id ("services_table", "increase_rank", ...). An id the table
/// lacks comes back as itself, so that a missing label shows in the output instead of an empty cell.
std::string_view Label(std::string_view id, ReportLang lang);

/// What a writer shows for a JSON null (a rank the key did not have, a percent of nothing).
inline constexpr std::string_view NO_VALUE = "—";

/// 12161.8 -> "12,161.8" with `decimals` places; nullopt -> NO_VALUE.
std::string FormatNumber(std::optional<double> value, int decimals);
/// A change with its sign: "+1,257.6", "-26.73"; a value that rounds to zero has none ("0.00").
std::string FormatSigned(std::optional<double> value, int decimals);
/// A percent given in percent (23.4 -> "23.4%").
std::string FormatPercent(std::optional<double> percent, int decimals = 1);
/// A change in percent with its sign: "+23.4%", "-15.3%".
std::string FormatSignedPercent(std::optional<double> percent, int decimals = 1);
/// A share given as a fraction (0.234 -> "23.4%").
std::string FormatShare(std::optional<double> fraction);
/// A rank: "3" in English, "3位" in Japanese; nullopt -> NO_VALUE.
std::string FormatRank(std::optional<int64_t> rank, ReportLang lang);
/// TSUBAME's previous-rank cell for a key that was not in the top N: "outside top 10" / "TOP10 外".
std::string OutsideTop(int64_t top, ReportLang lang);

/// The NPA table's change cell: "+23.4% (+101.40)" / "+23.4% (+101.40 件)"; a new key (percent null):
/// "new (+22.67)" / "新規 (+22.67 件)".
std::string FormatChangeCell(std::optional<double> change, std::optional<double> change_percent, ReportLang lang);

/// How a figure moved: "up 101.4 (23.4%) from the previous period" / "前期と比較して 101.4 件 (23.4%) 増加した"
/// (減少した, "down" when it fell). `unit_ja` is the Japanese counter word (件, 個). Without a previous
/// figure (change null) it says the previous period has none; with change but no percent (the previous
/// figure was zero) it gives the change alone.
std::string ChangePhrase(std::optional<double> change, std::optional<double> change_percent, std::string_view unit_ja,
                         ReportLang lang);
/// The NPA overview sentence: "533.7 packets per day per IP, up 101.4 (23.4%) from the previous period" /
/// "一日・1IP当たり 533.7 件で、前期と比較して 101.4 件 (23.4%) 増加した" (one decimal, as the seeds write it).
std::string PerDayPerIpSentence(std::optional<double> value, std::optional<double> change,
                                std::optional<double> change_percent, ReportLang lang);

}  // namespace darkscope
