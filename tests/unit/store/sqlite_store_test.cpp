#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "../aggregate/test_packets.hpp"
#include "aggregate/aggregator.hpp"
#include "store/store.hpp"

namespace darkscope {
namespace {

using testing::DAY0;

DecodedPacket Syn(const char *src, const char *dst, uint16_t dport, TimestampNs ts) {
    return testing::SynPacket(src, dst, dport, ts);
}
ClassifiedPacket SynClass(uint16_t dport) { return testing::SynProbe(dport); }

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = std::filesystem::temp_directory_path() /
                ("darkscope_store_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
        Cleanup();
        store_ = Store::OpenSqlite(path_.string());
        Sensor s;
        s.name = "s1";
        s.networks = {*IpNetwork::Parse("198.51.100.0/24")};
        s.addresses = 256;
        ids_ = store_->SaveSensors({s});
        unattributed_ = store_->UnattributedSensorId();
    }
    void TearDown() override {
        store_.reset();
        Cleanup();
    }
    void Cleanup() {
        for (auto suffix : {"", "-wal", "-shm"})
            std::filesystem::remove(path_.string() + suffix);
    }
    // Closes the store, changes its file with plain SQLite (as an older darkscope left it, say) and
    // opens it again, which migrates it.
    void RewriteAndReopen(const char *sql) {
        store_.reset();
        sqlite3 *db = nullptr;
        ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        sqlite3_close(db);
        store_ = Store::OpenSqlite(path_.string());
    }
    // Writes the shard as ingest does for one file.
    void Commit(AggregateShard &shard) {
        CounterRows hourly;
        Rollup(shard, hourly);
        store_->Begin();
        store_->MergeHourlyCounters(hourly, ids_, unattributed_);
        auto chunks = ToSourceChunks(shard.Sources(), ids_);
        store_->MergeSources(chunks);
        store_->MergeEvents(shard.Events(), ids_, unattributed_);
        store_->Commit();
    }
    std::map<uint32_t, std::pair<uint64_t, uint64_t>> ServiceRows(Granularity g, int64_t from, int64_t to) {
        std::map<uint32_t, std::pair<uint64_t, uint64_t>> out;
        store_->ScanCounters(g, Dimension::SERVICE, from, to, [&](const CounterRecord &r) {
            if (r.sensor_id != ids_[0]) return;
            auto &[packets, uniq] = out[r.key];
            packets += r.packets;
            uniq = r.unique_sources;
        });
        return out;
    }

    std::filesystem::path path_;
    std::unique_ptr<Store> store_;
    std::vector<int64_t> ids_;
    int64_t unattributed_ = 0;
};

}  // namespace

TEST_F(StoreTest, SchemaIsVersionedAndReopens) {
    EXPECT_EQ(store_->SchemaVersion(), 11);
    store_.reset();
    store_ = Store::OpenSqlite(path_.string());
    EXPECT_EQ(store_->SchemaVersion(), 11);
    EXPECT_EQ(store_->LoadSensors().size(), 2u);  // s1 and the unattributed pseudo-sensor
    store_.reset();
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    int64_t page_size = 0;
    ASSERT_EQ(sqlite3_exec(
                  db, "PRAGMA page_size",
                  [](void *out, int, char **values, char **) {
                      *static_cast<int64_t *>(out) = std::stoll(values[0]);
                      return 0;
                  },
                  &page_size, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    EXPECT_EQ(page_size, 65536);  // a new store's pages hold its segments in fewer overflow pages
}

// With CheckpointBehind on, each commit is copied from the log into the store file by a thread of its own, while
// the store stays open; a commit this small would otherwise wait in the log for the close. The store file is
// read alone, from a copy without the log.
TEST_F(StoreTest, CommitsReachTheStoreFileBehindTheWriter) {
    auto rows_in_store_file = [&] {
        const std::filesystem::path copy = path_.string() + ".copy";
        std::filesystem::copy_file(path_, copy, std::filesystem::copy_options::overwrite_existing);
        sqlite3 *db = nullptr;
        int64_t rows = 0;  // none where not even the table has reached the file
        EXPECT_EQ(sqlite3_open(copy.c_str(), &db), SQLITE_OK);
        sqlite3_exec(
            db, "SELECT count(*) FROM counters_hourly",
            [](void *out, int, char **values, char **) {
                *static_cast<int64_t *>(out) = std::stoll(values[0]);
                return 0;
            },
            &rows, nullptr);
        sqlite3_close(db);
        std::filesystem::remove(copy);
        return rows;
    };
    const auto svc = SynClass(445);
    AggregateShard first;
    first.Observe(Syn("192.0.2.1", "198.51.100.1", 445, DAY0 + 10), svc, 0);
    Commit(first);
    EXPECT_EQ(rows_in_store_file(), 0);  // in the log only

    store_->CheckpointBehind(true);
    AggregateShard second;
    second.Observe(Syn("192.0.2.2", "198.51.100.2", 445, DAY0 + 3600 * NS_PER_SEC), svc, 0);
    Commit(second);
    store_->CheckpointBehind(false);  // waits for the copy under way
    EXPECT_GT(rows_in_store_file(), 0);
    EXPECT_EQ(ServiceRows(Granularity::HOUR, 20075 * 24, 20075 * 24 + 23).size(), 1u);  // the store reads on as before
}

TEST_F(StoreTest, TwoFilesCoveringTheSameHourMergeExactly) {
    const auto svc = SynClass(445);
    AggregateShard first;
    first.Observe(Syn("192.0.2.1", "198.51.100.1", 445, DAY0 + 10), svc, 0);
    first.Observe(Syn("192.0.2.2", "198.51.100.2", 445, DAY0 + 20), svc, 0);
    Commit(first);
    AggregateShard second;  // same hour, one old and one new source
    second.Observe(Syn("192.0.2.2", "198.51.100.3", 445, DAY0 + 30), svc, 0);
    second.Observe(Syn("192.0.2.3", "198.51.100.4", 445, DAY0 + 40), svc, 0);
    Commit(second);

    // The second file's share of the day is a part of it until FoldDayParts: reads are the same before and after.
    auto check = [&](const char *when) {
        SCOPED_TRACE(when);
        auto key = ServiceKey::Make(ServiceKind::TCP, 445).packed;
        auto hourly = ServiceRows(Granularity::HOUR, 20075 * 24, 20075 * 24 + 23);
        EXPECT_EQ(hourly[key].first, 4u);
        EXPECT_EQ(hourly[key].second, 3u);  // exact union, not 2 + 2
        auto daily = ServiceRows(Granularity::DAY, 20075, 20075);
        EXPECT_EQ(daily[key].first, 4u);
        EXPECT_EQ(daily[key].second, 3u);

        std::map<std::string, std::pair<uint64_t, uint64_t>> sources;  // packets, destinations
        store_->ScanSources(20075, 20075, [&](const SourceRecord &r) {
            const SourceDay &d = *r.record;
            sources[d.src.ToString()] = {d.packets, d.destinations.size()};
            if (d.src.ToString() == "192.0.2.2") {
                EXPECT_EQ(d.first_ts, DAY0 + 20);  // earliest over both files
                EXPECT_EQ(d.last_ts, DAY0 + 30);
            }
        });
        EXPECT_EQ(sources["192.0.2.2"], std::make_pair(uint64_t(2), uint64_t(2)));
        EXPECT_EQ(sources.size(), 3u);
    };
    check("with the second file as a part");
    store_->FoldDayParts();
    check("parts folded");
    store_->FoldDayParts();  // nothing left to fold
    check("folded twice");
}

// A schema-4 store interrupted before its fold holds a day as a daily row plus parts. Migrating marks
// that day, so that reads unite its hours instead, and the next fold rebuilds it and drops the parts.
TEST_F(StoreTest, Schema4DayPartsAreRebuiltFromTheHours) {
    const auto svc = SynClass(445);
    AggregateShard first;
    first.Observe(Syn("192.0.2.1", "198.51.100.1", 445, DAY0 + 10), svc, 0);
    first.Observe(Syn("192.0.2.2", "198.51.100.2", 445, DAY0 + 3600 * NS_PER_SEC), svc, 0);
    Commit(first);
    store_->FoldDayParts();
    const auto key = ServiceKey::Make(ServiceKind::TCP, 445).packed;
    ASSERT_EQ(ServiceRows(Granularity::DAY, 20075, 20075)[key], std::make_pair(uint64_t(2), uint64_t(2)));
    // As schema 4 left it: the day's service row stale (one hour only) with the rest in a part.
    RewriteAndReopen(
        "INSERT INTO counters_daily_parts(dim, period, sensor_id, part, segment) "
        "SELECT dim, 20075, sensor_id, 1, segment FROM counters_hourly WHERE dim = 1 AND "
        "period = 20075 * 24 + 1; "
        "UPDATE counters_daily SET segment = (SELECT segment FROM counters_hourly h WHERE "
        "h.dim = 1 AND h.period = 20075 * 24 AND h.sensor_id = counters_daily.sensor_id) "
        "WHERE dim = 1; "
        "DROP TABLE days_pending; DROP TABLE detected_events; DROP TABLE detector_runs; DROP TABLE resolver_probes; "
        "DROP TABLE device_probes; DROP TABLE dns_source_daily; DROP TABLE dns_zone_hourly; DROP TABLE "
        "counters_daily_heads; DROP TABLE stream_carry; PRAGMA user_version = 4;");
    EXPECT_EQ(store_->SchemaVersion(), 11);
    EXPECT_EQ(ServiceRows(Granularity::DAY, 20075, 20075)[key], std::make_pair(uint64_t(2), uint64_t(2)));
    store_->FoldDayParts();
    EXPECT_EQ(ServiceRows(Granularity::DAY, 20075, 20075)[key], std::make_pair(uint64_t(2), uint64_t(2)));
    size_t left = 0;
    sqlite3 *db = nullptr;
    store_.reset();
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(
                  db, "SELECT (SELECT count(*) FROM counters_daily_parts) + (SELECT count(*) FROM days_pending)",
                  [](void *out, int, char **values, char **) {
                      *static_cast<size_t *>(out) = std::stoul(values[0]);
                      return 0;
                  },
                  &left, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    EXPECT_EQ(left, 0u);  // schema 4's parts dropped, no day waiting
}

// Schema 10 keeps segments, chunks and bitmaps in rowid tables: a schema-9 store's WITHOUT ROWID tables of them
// are rebuilt with every row, their keys still unique, and reads give what they gave before.
TEST_F(StoreTest, Schema9SegmentTablesBecomeRowidTablesWithTheirRows) {
    AggregateShard shard;
    for (int hour = 0; hour < 3; ++hour)
        for (int i = 0; i < 12; ++i) {
            const std::string src = "192.0.2." + std::to_string(1 + (i * 5 + hour) % 30);
            const uint16_t port = uint16_t(i % 2 ? 23 : 445);
            shard.Observe(Syn(src.c_str(), "198.51.100.7", port, DAY0 + hour * 3600 * NS_PER_SEC + i), SynClass(port),
                          0);
        }
    Commit(shard);
    store_->FoldDayParts();
    const auto hourly = ServiceRows(Granularity::HOUR, 20075 * 24, 20075 * 24 + 23);
    const auto daily = ServiceRows(Granularity::DAY, 20075, 20075);
    ASSERT_EQ(hourly.size(), 2u);
    store_.reset();

    // Plain SQLite on the closed store; each result row's values, then a newline.
    auto sql = [&](const std::string &text, int want = SQLITE_OK) {
        sqlite3 *db = nullptr;
        std::string out;
        EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(
                      db, text.c_str(),
                      [](void *to, int n, char **values, char **) {
                          for (int i = 0; i < n; ++i)
                              *static_cast<std::string *>(to) += std::string(values[i] ? values[i] : "NULL") + " ";
                          *static_cast<std::string *>(to) += "\n";
                          return 0;
                      },
                      &out, nullptr),
                  want)
            << sqlite3_errmsg(db) << " in " << text;
        sqlite3_close(db);
        return out;
    };
    const std::vector<std::pair<std::string, std::string>> tables = {
        {"counters_hourly", "dim, period, sensor_id"},
        {"counters_daily", "dim, period, sensor_id"},
        {"counters_daily_heads", "dim, period, sensor_id"},
        {"counters_daily_parts", "dim, period, sensor_id, part"},
        {"source_daily", "day, bucket"},
        {"source_daily_parts", "day, bucket, part"},
        {"sensor_destinations", "sensor_id, day"}};
    auto rows = [&] {
        std::string out;
        for (const auto &[table, key] : tables)
            out += table + ":\n" + sql("SELECT * FROM " + table + " ORDER BY " + key);
        return out;
    };
    const std::string without_rowid =
        "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%WITHOUT ROWID%' AND name IN "
        "('counters_hourly', 'counters_daily', 'counters_daily_heads', "
        "'counters_daily_parts', 'source_daily', 'source_daily_parts', "
        "'sensor_destinations')";
    ASSERT_EQ(sql(without_rowid), "0 \n");

    // A row in each of the tables ingest no longer writes, on a day of their own (reads of 20075 unite no part).
    sql("INSERT INTO counters_daily_parts SELECT dim, 20076, sensor_id, 1, segment FROM counters_daily; "
        "INSERT INTO source_daily_parts SELECT 20076, bucket, 1, chunk FROM source_daily; "
        "INSERT INTO sensor_destinations VALUES (1, 20076, x'0102', x'');");
    const std::string before = rows();
    ASSERT_NE(before.find("source_daily_parts:\n20076"), std::string::npos) << before;
    // As schema 9 made them.
    std::string to_schema9;
    for (const auto &[table, key] : tables) {
        std::string columns = sql("SELECT group_concat(name, ', ') FROM pragma_table_info('" + table + "')");
        columns.resize(columns.size() - 2);  // " \n"
        to_schema9 += "CREATE TABLE old AS SELECT * FROM " + table + "; DROP TABLE " + table + "; CREATE TABLE " +
                      table + " (" + columns + ", PRIMARY KEY (" + key + ")) WITHOUT ROWID; INSERT INTO " + table +
                      " SELECT * FROM old; DROP TABLE old; ";
    }
    sql(to_schema9 + "PRAGMA user_version = 9;");
    ASSERT_EQ(sql(without_rowid), "7 \n");
    ASSERT_EQ(rows(), before);

    store_ = Store::OpenSqlite(path_.string());  // migrates
    EXPECT_EQ(store_->SchemaVersion(), 11);
    store_.reset();
    EXPECT_EQ(sql(without_rowid), "0 \n");
    EXPECT_EQ(rows(), before);
    sql("INSERT INTO counters_hourly SELECT * FROM counters_hourly", SQLITE_CONSTRAINT);
    sql("INSERT INTO source_daily SELECT * FROM source_daily", SQLITE_CONSTRAINT);
    store_ = Store::OpenSqlite(path_.string());
    EXPECT_EQ(ServiceRows(Granularity::HOUR, 20075 * 24, 20075 * 24 + 23), hourly);
    EXPECT_EQ(ServiceRows(Granularity::DAY, 20075, 20075), daily);
}

// A day's build reads its hours in batches bounded by their encoded size; the rows must not depend on
// the batches. Built once in batches of one (dimension, sensor) pair, then again in one batch.
TEST_F(StoreTest, DayBuiltInSmallBatchesEqualsOneBatch) {
    AggregateShard shard;
    for (int hour = 0; hour < 5; ++hour)
        for (int i = 0; i < 20; ++i) {
            const std::string src = "192.0.2." + std::to_string(1 + (i * 7 + hour) % 50);
            const std::string dst = i % 4 == 0 ? "203.0.113.9" : "198.51.100." + std::to_string(1 + i);
            const uint16_t port = uint16_t(i % 3 == 0 ? 23 : 445 + hour);
            shard.Observe(Syn(src.c_str(), dst.c_str(), port, DAY0 + hour * 3600 * NS_PER_SEC + i), SynClass(port),
                          i % 4 == 0 ? UNATTRIBUTED : 0);
        }
    Commit(shard);
    auto daily_rows = [&] {
        store_.reset();
        sqlite3 *db = nullptr;
        std::string rows;
        EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(
                      db,
                      "SELECT dim, period, sensor_id, keys, packets, bytes, hex(segment) FROM counters_daily "
                      "ORDER BY 1, 2, 3",
                      [](void *out, int n, char **values, char **) {
                          for (int i = 0; i < n; ++i)
                              *static_cast<std::string *>(out) += std::string(values[i]) + " ";
                          *static_cast<std::string *>(out) += "\n";
                          return 0;
                      },
                      &rows, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
        store_ = Store::OpenSqlite(path_.string());
        return rows;
    };
    store_->SetDayBuildBatchBytes(1);
    store_->FoldDayParts(1);
    const std::string small = daily_rows();
    EXPECT_GE(std::count(small.begin(), small.end(), '\n'), 4);  // many (dimension, sensor) pairs, each its batch
    RewriteAndReopen("DELETE FROM counters_daily; INSERT INTO days_pending VALUES (20075);");
    store_->FoldDayParts(2);
    EXPECT_EQ(daily_rows(), small);
    // Three threads reading the hours on connections of their own, batch after batch, while this one writes.
    RewriteAndReopen("DELETE FROM counters_daily; INSERT INTO days_pending VALUES (20075);");
    store_->SetDayBuildBatchBytes(1);
    store_->FoldDayParts(3);
    EXPECT_EQ(daily_rows(), small);
    // Inside a transaction (a day closed within a file), the hours are read on the store's own connection first.
    RewriteAndReopen("DELETE FROM counters_daily; INSERT INTO days_pending VALUES (20075);");
    store_->Begin();
    store_->BuildDays(INT64_MAX, 2);
    store_->Commit();
    EXPECT_EQ(daily_rows(), small);
    const auto key = ServiceKey::Make(ServiceKind::TCP, 23).packed;
    EXPECT_EQ(ServiceRows(Granularity::DAY, 20075, 20075)[key].first,
              25u);  // 23/TCP to s1: i = 3, 6, 9, 15, 18, each hour
}

// A day's build takes the hours this store wrote without checking them again, but only while they hash as
// written: an hour changed behind its back (another program, a damaged file) is checked, and refused.
TEST_F(StoreTest, HourChangedSinceItWasWrittenIsCheckedWhenTheDayIsBuilt) {
    AggregateShard shard;
    for (int i = 0; i < 12; ++i) {
        const std::string src = "192.0.2." + std::to_string(1 + i % 5);
        shard.Observe(Syn(src.c_str(), "198.51.100.9", 23, DAY0 + i * 600 * NS_PER_SEC), SynClass(23), 0);
    }
    Commit(shard);
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE counters_hourly SET segment = x'01ff' WHERE dim = 1", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    for (unsigned threads : {1u, 2u}) {
        try {
            store_->FoldDayParts(threads);
            ADD_FAILURE() << "built a day from a corrupt hour with " << threads << " threads";
        } catch (const StoreError &e) {
            EXPECT_NE(std::string(e.what()).find("counters_hourly segment (dim 1"), std::string::npos) << e.what();
        }
    }
}

// Count-only reads of days come from the heads (schema 8); a store migrated from schema 7 gets them for the
// days it holds, and an older store opened read-only (not migrated) is read from its rows. All must give
// the same counts.
TEST_F(StoreTest, DailyCountsFromHeadsEqualCountsFromSegments) {
    AggregateShard shard;
    for (int i = 0; i < 30; ++i) {
        const std::string src = "192.0.2." + std::to_string(1 + i % 11);
        const std::string dst = "198.51.100." + std::to_string(1 + i);
        const uint16_t port = uint16_t(i % 4 == 0 ? 23 : 1000 + i % 7);
        shard.Observe(Syn(src.c_str(), dst.c_str(), port, DAY0 + (i % 30) * 86400 * NS_PER_SEC / 20 + i),
                      SynClass(port), 0);
    }
    Commit(shard);
    store_->FoldDayParts();
    using Counts = std::map<std::tuple<int64_t, int64_t, uint32_t>, std::tuple<uint64_t, uint64_t, uint64_t>>;
    auto counts = [&](bool heads, Store *store = nullptr) {
        if (!store) store = store_.get();
        Counts out;
        auto add = [&](const CounterRecord &r) {
            out[{r.period, r.sensor_id, r.key}] = {r.packets, r.bytes, r.unique_sources};
        };
        if (heads)
            store->ScanCounts(Granularity::DAY, Dimension::SERVICE, 20075, 20076, add);
        else
            store->ScanCounters(Granularity::DAY, Dimension::SERVICE, 20075, 20076, add);
        return out;
    };
    const Counts whole = counts(false);
    ASSERT_GE(whole.size(), 8u);
    EXPECT_EQ(counts(true), whole);
    RewriteAndReopen("DROP TABLE counters_daily_heads; DROP TABLE stream_carry; PRAGMA user_version = 7;");
    EXPECT_EQ(store_->SchemaVersion(), 11);  // migrated, heads filled
    EXPECT_EQ(counts(true), whole);
    store_.reset();
    {
        sqlite3 *db = nullptr;
        ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "DROP TABLE counters_daily_heads; DROP TABLE stream_carry; PRAGMA user_version = 7;",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);

        auto read_only = Store::OpenSqliteReadOnly(path_.string());  // not migrated: no heads table
        EXPECT_EQ(read_only->SchemaVersion(), 7);
        EXPECT_EQ(counts(true, read_only.get()), whole);
    }
    store_ = Store::OpenSqlite(path_.string());
    EXPECT_EQ(counts(true), whole);
    RewriteAndReopen("UPDATE counters_daily_heads SET heads = x'01ff';");
    EXPECT_THROW(counts(true), StoreError);
}

// A schema-7 daily row whose heads do not decode does not stop the migration to heads (which would refuse every
// later ingest into the store): its day is rebuilt from the hours, read from them until then.
TEST_F(StoreTest, CorruptDailyRowOfASchema7StoreIsRebuiltFromItsHours) {
    AggregateShard shard;
    for (int i = 0; i < 12; ++i) {
        const std::string src = "192.0.2." + std::to_string(1 + i % 5);
        const uint16_t port = uint16_t(i % 3 == 0 ? 23 : 445);
        shard.Observe(Syn(src.c_str(), "198.51.100.9", port, DAY0 + i * 3600 * NS_PER_SEC), SynClass(port), 0);
    }
    Commit(shard);
    store_->FoldDayParts();
    const auto daily = ServiceRows(Granularity::DAY, 20075, 20075);
    ASSERT_EQ(daily.size(), 2u);
    RewriteAndReopen(
        "DROP TABLE counters_daily_heads; DROP TABLE stream_carry; UPDATE counters_daily SET segment = x'01ff' "
        "WHERE dim = 1; PRAGMA user_version = 7;");
    EXPECT_EQ(store_->SchemaVersion(), 11);
    EXPECT_EQ(ServiceRows(Granularity::DAY, 20075, 20075), daily);  // from the hours
    store_->FoldDayParts();                                         // rebuilds the day
    EXPECT_EQ(ServiceRows(Granularity::DAY, 20075, 20075), daily);
    store_.reset();
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    int64_t corrupt = -1;
    ASSERT_EQ(sqlite3_exec(
                  db,
                  "SELECT (SELECT count(*) FROM counters_daily WHERE segment = x'01ff') + "
                  "(SELECT count(*) FROM days_pending)",
                  [](void *out, int, char **values, char **) {
                      *static_cast<int64_t *>(out) = std::stoll(values[0]);
                      return 0;
                  },
                  &corrupt, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    EXPECT_EQ(corrupt, 0);
    store_ = Store::OpenSqlite(path_.string());
}

TEST_F(StoreTest, DaysAndUnattributedPacketsAreKeptApart) {
    AggregateShard shard;
    shard.Observe(Syn("192.0.2.1", "198.51.100.1", 23, DAY0), SynClass(23), 0);
    shard.Observe(Syn("192.0.2.1", "198.51.100.1", 23, DAY0 + 86400 * NS_PER_SEC), SynClass(23), 0);
    shard.Observe(Syn("192.0.2.9", "192.0.2.200", 23, DAY0), SynClass(23), UNATTRIBUTED);
    Commit(shard);
    auto range = store_->DayRange();
    ASSERT_TRUE(range);
    EXPECT_EQ(range->first, 20075);
    EXPECT_EQ(range->second, 20076);
    uint64_t attributed = 0, unattributed = 0;
    store_->ScanCounters(Granularity::DAY, Dimension::TOTAL, 20075, 20076, [&](const CounterRecord &r) {
        (r.sensor_id == unattributed_ ? unattributed : attributed) += r.packets;
    });
    EXPECT_EQ(attributed, 2u);
    EXPECT_EQ(unattributed, 1u);
    // One sensor's rows alone.
    std::vector<std::pair<int64_t, uint64_t>> only;
    store_->ScanSensorCounts(Granularity::DAY, Dimension::TOTAL, 20075, 20076, unattributed_,
                             [&](const CounterRecord &r) {
                                 EXPECT_EQ(r.sensor_id, unattributed_);
                                 only.emplace_back(r.period, r.packets);
                             });
    EXPECT_EQ(only, (std::vector<std::pair<int64_t, uint64_t>>{{20075, 1}}));
    size_t source_rows = 0;
    store_->ScanSources(20075, 20076, [&](const SourceRecord &) { ++source_rows; });
    EXPECT_EQ(source_rows, 2u);  // one per day; the unattributed source is not a darknet source
}

TEST_F(StoreTest, RolledBackFileLeavesNothing) {
    AggregateShard shard;
    shard.Observe(Syn("192.0.2.1", "198.51.100.1", 23, DAY0), SynClass(23), 0);
    CounterRows hourly;
    Rollup(shard, hourly);
    store_->Begin();
    store_->MergeHourlyCounters(hourly, ids_, unattributed_);
    EXPECT_TRUE(store_->DayRange());
    store_->Rollback();
    EXPECT_FALSE(store_->DayRange());
}

TEST_F(StoreTest, FilesAreFoundByContentHash) {
    FileRecord f;
    f.content_hash = "00112233445566778899aabbccddeeff";
    f.path = "/tmp/a.pcap";
    f.format = "pcap";
    f.compression = "none";
    f.packets = 7;
    f.status = "complete";
    store_->InsertFile(f);
    auto found = store_->FindFile(f.content_hash);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->packets, 7u);
    EXPECT_FALSE(store_->FindFile("ffff"));
    EXPECT_THROW(store_->InsertFile(f), StoreError);  // the hash is unique
}

}  // namespace darkscope

namespace darkscope {

// A store written before enrichment (schema 1) migrates forward: its files keep their rows and say
// that no enrichment data decided their regions.
TEST_F(StoreTest, Version1StoreMigratesToEnrichment) {
    FileRecord f;
    f.content_hash = "00ff";
    f.path = "/x.pcap";
    f.format = "pcap";
    f.compression = "none";
    f.status = "complete";
    f.enrichment = "country: test";
    store_->InsertFile(f);
    EXPECT_EQ(store_->FindFile("00ff")->enrichment, "country: test");
    RewriteAndReopen(
        "ALTER TABLE files DROP COLUMN enrichment; DROP TABLE rdns; DROP TABLE research_names; "
        "DROP TABLE signatures; DROP TABLE counters_daily_parts; DROP TABLE source_daily_parts; "
        "DROP TABLE days_pending; DROP TABLE detected_events; DROP TABLE detector_runs; DROP TABLE resolver_probes; "
        "DROP TABLE device_probes; DROP TABLE dns_source_daily; DROP TABLE dns_zone_hourly; DROP TABLE "
        "counters_daily_heads; DROP TABLE stream_carry; PRAGMA user_version = 1;");
    EXPECT_EQ(store_->SchemaVersion(), 11);
    auto back = store_->FindFile("00ff");
    ASSERT_TRUE(back);
    EXPECT_EQ(back->enrichment, "");
}

// Detected events keep every field through the store, are found by overlap with a range, and a re-run of
// the series detectors replaces only its own events in its own range.
TEST_F(StoreTest, DetectedEventsRoundTripAndReplaceByOrigin) {
    using detect::DetectedEvent;
    using detect::EventKind;
    const TimestampNs hour = SECONDS_PER_HOUR * NS_PER_SEC;
    DetectedEvent dos;
    dos.kind = EventKind::BACKSCATTER;
    dos.detector = "rsdos";
    dos.subject = "203.0.113.9";
    dos.start = 10 * hour + 123;
    dos.peak = 11 * hour;
    dos.end = 12 * hour;
    dos.magnitude = 1.5e6;
    dos.packets = 4812;
    dos.sources = 1;
    dos.top_sources = {{"203.0.113.9", "US", 4812}};
    dos.regions = {"US"};
    dos.sensors = {"tokyo-1", "cloud-1"};
    dos.evidence = {{"ports", {{{"port", "6667/TCP"}, {"packets", 4812}}}}};
    dos.sentence_en = "203.0.113.9 sent ...";
    dos.sentence_ja = "203.0.113.9 から ...";
    DetectedEvent surge;
    surge.kind = EventKind::NEW_SERVICE;
    surge.detector = "surge.mad";
    surge.subject = "5000/TCP";
    surge.start = 20 * hour;
    surge.peak = surge.end = 21 * hour;
    store_->Begin();
    store_->PutDetectedEvents("ingest", {dos});
    store_->PutDetectedEvents("series", {surge});
    store_->PutDetectorRun({"ingest", 0, 23 * hour, "scan, rsdos", ""});
    store_->Commit();

    auto scan = [&](TimestampNs from, TimestampNs to) {
        std::vector<StoredEvent> out;
        store_->ScanDetectedEvents(from, to, [&](const StoredEvent &e) { out.push_back(e); });
        return out;
    };
    auto all = scan(0, 24 * hour);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].origin, "ingest");
    EXPECT_EQ(detect::ToJson(all[0].event), detect::ToJson(dos));
    EXPECT_EQ(all[1].event.subject, "5000/TCP");
    EXPECT_EQ(scan(11 * hour + 1, 11 * hour + 2).size(), 1u);  // inside the attack's window only
    EXPECT_TRUE(scan(13 * hour, 19 * hour).empty());

    std::vector<DetectorRun> runs;
    store_->ScanDetectorRuns(5 * hour, 6 * hour, [&](const DetectorRun &r) { runs.push_back(r); });
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].settings, "scan, rsdos");
    EXPECT_FALSE(runs[0].ran_at.empty());

    EXPECT_EQ(store_->DeleteDetectedEvents("series", 0, 24 * hour), 1u);
    all = scan(0, 24 * hour);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].event.kind, EventKind::BACKSCATTER);
}

// Events that a merged one replaces go by id, and only those of the origin named.
TEST_F(StoreTest, DetectedEventsDeletedByIdOnlyInTheirOrigin) {
    auto event = [](const std::string &subject) {
        detect::DetectedEvent e;
        e.kind = detect::EventKind::SCAN;
        e.detector = "scan";
        e.subject = subject;
        e.start = e.peak = e.end = 10 * NS_PER_SEC;
        return e;
    };
    store_->Begin();
    const std::vector<int64_t> ingest = store_->PutDetectedEvents("ingest", {event("a"), event("b")});
    const std::vector<int64_t> series = store_->PutDetectedEvents("series", {event("c")});
    store_->Commit();
    ASSERT_EQ(ingest.size(), 2u);
    ASSERT_EQ(series.size(), 1u);
    EXPECT_NE(ingest[0], ingest[1]);
    const std::vector<int64_t> doomed = {ingest[0], series[0], 999999};
    EXPECT_EQ(store_->DeleteDetectedEventsById("ingest", doomed), 1u);
    std::vector<std::string> left;
    store_->ScanDetectedEvents(0, 20 * NS_PER_SEC, [&](const StoredEvent &e) { left.push_back(e.event.subject); });
    EXPECT_EQ(left, (std::vector<std::string>{"b", "c"}));
}

// The stream detectors' carry (schema 9): none until a run saves one; each save replaces the whole set; rows
// come back field for field, the state bytes untouched (Restore judges them); a row that names no kind or
// address is reported as unreadable, not returned.
TEST_F(StoreTest, StreamCarryIsReplacedWholeAndReadBack) {
    EXPECT_FALSE(store_->LoadStreamCarry());
    detect::CarriedState scan;
    scan.kind = detect::CarriedState::Kind::SCAN;
    scan.source = *IpAddress::Parse("198.51.100.7");
    scan.service = ServiceKey::Make(ServiceKind::TCP, 23).packed;
    scan.last = 1734480000LL * NS_PER_SEC;
    scan.event_id = 42;
    scan.state = std::string("\x01\x00\xff\x00", 4);  // bytes, zeros included
    detect::CarriedState victim;
    victim.kind = detect::CarriedState::Kind::RSDOS;
    victim.source = *IpAddress::Parse("2001:db8::9");
    victim.last = scan.last + 5;
    victim.state = "\x01";
    StreamCarry carry;
    carry.settings = "settings a";
    carry.at = scan.last + 7;
    carry.states = {scan, victim};
    store_->Begin();
    store_->ReplaceStreamCarry(carry);
    store_->Commit();

    auto back = store_->LoadStreamCarry();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->settings, "settings a");
    EXPECT_EQ(back->at, carry.at);
    EXPECT_TRUE(back->unreadable.empty());
    ASSERT_EQ(back->states.size(), 2u);
    const detect::CarriedState &v = back->states[0];  // by kind: rsdos before scan
    const detect::CarriedState &s = back->states[1];
    EXPECT_EQ(v.kind, detect::CarriedState::Kind::RSDOS);
    EXPECT_EQ(v.source, victim.source);
    EXPECT_EQ(v.service, 0u);
    EXPECT_EQ(v.event_id, 0);
    EXPECT_EQ(v.last, victim.last);
    EXPECT_EQ(s.kind, detect::CarriedState::Kind::SCAN);
    EXPECT_EQ(s.source, scan.source);
    EXPECT_EQ(s.service, scan.service);
    EXPECT_EQ(s.event_id, 42);
    EXPECT_EQ(s.state, scan.state);

    carry.settings = "settings b";
    carry.states = {victim};
    store_->Begin();
    store_->ReplaceStreamCarry(carry);
    store_->Commit();
    back = store_->LoadStreamCarry();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->settings, "settings b");
    ASSERT_EQ(back->states.size(), 1u);
    EXPECT_EQ(back->states[0].kind, detect::CarriedState::Kind::RSDOS);

    RewriteAndReopen(
        "INSERT INTO stream_carry VALUES ('probe', '198.51.100.1', 0, 0, NULL, x'01'), "
        "('scan', 'not an address', 23, 0, NULL, x'01'), ('scan', '198.51.100.2', -1, 0, NULL, x'01');");
    back = store_->LoadStreamCarry();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->states.size(), 1u);
    ASSERT_EQ(back->unreadable.size(), 3u);
    EXPECT_NE(back->unreadable[0].find("probe"), std::string::npos) << back->unreadable[0];

    // A schema-8 store gains the table, empty.
    RewriteAndReopen(
        "DROP TABLE stream_carry; DELETE FROM meta WHERE key LIKE 'stream_carry.%'; PRAGMA user_version = 8;");
    EXPECT_EQ(store_->SchemaVersion(), 11);
    EXPECT_FALSE(store_->LoadStreamCarry());
}

// A file that is not a store is refused with a hint that --store may name the wrong file; a store whose
// migration cannot write (its disk full) is refused with SQLite's reason alone, the store left as it was.
TEST_F(StoreTest, OnlyAFileThatIsNotAStoreGetsTheWrongFileHint) {
    const std::string not_a_store = path_.string() + ".txt";
    {
        std::ofstream out(not_a_store);
        for (int i = 0; i < 20; ++i) out << "not a database, a line of text\n";
    }
    try {
        Store::OpenSqlite(not_a_store);
        ADD_FAILURE() << "opened a text file";
    } catch (const StoreError &e) {
        EXPECT_NE(std::string(e.what()).find("is it a darkscope store?"), std::string::npos) << e.what();
        // Named as SQLite names it (its full path, links resolved): the file's own name is in it.
        EXPECT_NE(std::string(e.what()).find(std::filesystem::path(not_a_store).filename().string()), std::string::npos)
            << e.what();
    }
    std::filesystem::remove(not_a_store);

    // As schema 10 left it: the migration to 11 adds an index, which the WAL must take, and the file-size limit
    // below (what a full disk does to a write) refuses. In a child process, whose limit goes with it.
    RewriteAndReopen("SELECT 1");
    store_.reset();
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP INDEX files_by_size; PRAGMA user_version = 10;", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    const std::string path = path_.string();
    auto open_over_the_limit = [&path] {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{48 * 1024, 48 * 1024};
        setrlimit(RLIMIT_FSIZE, &limit);
        try {
            Store::OpenSqlite(path);
            std::fprintf(stderr, "migrated past the limit\n");
            std::_Exit(2);
        } catch (const StoreError &e) {
            std::fprintf(stderr, "%s\n", e.what());
            std::_Exit(std::string(e.what()).find("darkscope store") == std::string::npos ? 0 : 1);
        }
    };
    EXPECT_EXIT(open_over_the_limit(), ::testing::ExitedWithCode(0), "disk is full|disk I/O error");
    store_ = Store::OpenSqlite(path);  // without the limit, the migration goes through
    EXPECT_EQ(store_->SchemaVersion(), 11);
}

TEST_F(StoreTest, LargestDetectedEventsPerKindInStartOrderWithTiesToTheEarlier) {
    using detect::DetectedEvent;
    using detect::EventKind;
    const TimestampNs hour = SECONDS_PER_HOUR * NS_PER_SEC;
    auto event = [&](EventKind kind, const std::string &subject, int start_hour, double magnitude) {
        DetectedEvent e;
        e.kind = kind;
        e.detector = kind == EventKind::SCAN ? "scan" : "rsdos";
        e.subject = subject;
        e.start = start_hour * hour;
        e.peak = e.end = e.start + hour / 2;
        e.magnitude = magnitude;
        return e;
    };
    store_->Begin();
    // Scans a (5) and c (5) tie; a starts first, so it is kept with b (9) when two are asked for.
    store_->PutDetectedEvents("ingest",
                              {event(EventKind::SCAN, "a", 3, 5), event(EventKind::SCAN, "b", 4, 9),
                               event(EventKind::SCAN, "c", 1, 2), event(EventKind::SCAN, "d", 6, 5),
                               event(EventKind::BACKSCATTER, "v", 2, 1), event(EventKind::SCAN, "e", 30, 99)});
    store_->Commit();

    std::vector<std::string> subjects;
    store_->ScanLargestDetectedEvents(0, 24 * hour, 2,
                                      [&](const StoredEvent &e) { subjects.push_back(e.event.subject); });
    EXPECT_EQ(subjects, (std::vector<std::string>{"v", "a", "b"}));  // in start order; e is outside the day
    const auto counts = store_->CountDetectedEvents(0, 24 * hour);
    EXPECT_EQ(counts, (std::map<std::string, uint64_t>{{"backscatter", 1}, {"scan", 4}}));
}

TEST_F(StoreTest, LatestProbePerAddressWins) {
    store_->PutResolverProbe({"192.0.2.1", "no-answer", "timeout after 2 tries", "2016-11-01T00:00:00Z", "probe"});
    store_->PutResolverProbe({"192.0.2.1", "open", "answer: open-resolver-detected", "2016-11-02T00:00:00Z", "probe"});
    store_->PutResolverProbe({"192.0.2.2", "not-open", "rcode REFUSED", "2016-11-03T00:00:00Z", "probe"});
    // Same time, later row: an import of a newer list replaces what an earlier import of the same second said.
    store_->PutResolverProbe({"192.0.2.2", "open", "listed", "2016-11-03T00:00:00Z", "import:list.csv"});
    store_->PutResolverProbe({"192.0.2.3", "not-open", "rcode REFUSED", "2016-11-05T00:00:00Z", "probe"});
    store_->PutResolverProbe({"192.0.2.3", "open", "answer", "2016-11-04T00:00:00Z", "probe"});
    auto latest = store_->LatestResolverProbes();
    ASSERT_EQ(latest.size(), 3u);
    EXPECT_EQ(latest[0].address, "192.0.2.1");
    EXPECT_EQ(latest[0].status, "open");
    EXPECT_EQ(latest[1].status, "open");
    EXPECT_EQ(latest[1].origin, "import:list.csv");
    EXPECT_EQ(latest[2].status, "not-open");

    store_->PutDeviceProbe({"192.0.2.1", "unknown", "no rule matched", "{}", "2016-11-01T00:00:00Z", "nmap"});
    store_->PutDeviceProbe({"192.0.2.1", "router", "8728/tcp mikrotik-api", "{\"ports\":[8728]}", "", "nmap"});
    auto devices = store_->LatestDeviceProbes();
    ASSERT_EQ(devices.size(), 1u);
    EXPECT_EQ(devices[0].device_class, "router");
    EXPECT_FALSE(devices[0].probed_at.empty());
}

// Looking up a few sources reads their buckets only (an IPv4 source's is its first octet), each united with the
// parts a later file of the same day added, as ScanSources reads them.
TEST_F(StoreTest, ScanSourceBucketsReadsTheBucketsAskedWithTheirParts) {
    const auto svc = SynClass(445);
    AggregateShard first;
    first.Observe(Syn("192.0.2.1", "198.51.100.1", 445, DAY0 + 10), svc, 0);
    first.Observe(Syn("10.0.0.1", "198.51.100.1", 445, DAY0 + 11), svc, 0);
    first.Observe(Syn("198.18.0.1", "198.51.100.1", 445, DAY0 + 12), svc, 0);
    Commit(first);
    AggregateShard second;  // the same day: a part of bucket 192
    second.Observe(Syn("192.0.2.1", "198.51.100.2", 445, DAY0 + 20), svc, 0);
    second.Observe(Syn("192.0.2.2", "198.51.100.2", 445, DAY0 + 21), svc, 0);
    Commit(second);

    std::map<std::string, uint64_t> packets;
    const std::vector<uint16_t> buckets = {192, 198, 192, 7};  // a repeat, and a bucket with no sources
    store_->ScanSourceBuckets(20075, buckets, [&](const SourceRecord &r) {
        EXPECT_EQ(r.day, 20075);
        packets[r.record->src.ToString()] += r.record->packets;
    });
    EXPECT_EQ(packets, (std::map<std::string, uint64_t>{{"192.0.2.1", 2}, {"192.0.2.2", 1}, {"198.18.0.1", 1}}));
    size_t other_day = 0;
    store_->ScanSourceBuckets(20076, buckets, [&](const SourceRecord &) { ++other_day; });
    EXPECT_EQ(other_day, 0u);
}

}  // namespace darkscope
