#include <fmt/format.h>
#include <sqlite3.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>
#include <tuple>

#include "store/store.hpp"

namespace darkscope {
namespace {

// Schema migrations: MIGRATIONS[i] takes a store from version i to i + 1 (PRAGMA user_version).
// Append only; a released migration is never edited.
constexpr const char *MIGRATIONS[] = {
    // 0 -> 1: the ingest engine.
    R"sql(
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sensors (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        networks TEXT NOT NULL,          -- comma-separated CIDRs
        location TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL DEFAULT '',
        addresses INTEGER NOT NULL,      -- monitored addresses (0 for implicit: counted from data)
        implicit INTEGER NOT NULL DEFAULT 0,
        unattributed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        format TEXT NOT NULL,
        compression TEXT NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        first_ts INTEGER,
        last_ts INTEGER,
        status TEXT NOT NULL,            -- complete | partial
        message TEXT NOT NULL DEFAULT '',
        ingested_at TEXT NOT NULL
    );
    -- dim: see src/aggregate/dimension.hpp. period: hours (or days) since the epoch, UTC.
    -- segment: every key of the (dim, period, sensor) with packets, bytes and exact sources
    -- (src/aggregate/segment.hpp); keys/packets/bytes repeat its totals for quick queries.
    CREATE TABLE counters_hourly (
        dim INTEGER NOT NULL, period INTEGER NOT NULL, sensor_id INTEGER NOT NULL,
        keys INTEGER NOT NULL, packets INTEGER NOT NULL, bytes INTEGER NOT NULL, segment BLOB NOT NULL,
        PRIMARY KEY (dim, period, sensor_id)
    ) WITHOUT ROWID;
    CREATE TABLE counters_daily (
        dim INTEGER NOT NULL, period INTEGER NOT NULL, sensor_id INTEGER NOT NULL,
        keys INTEGER NOT NULL, packets INTEGER NOT NULL, bytes INTEGER NOT NULL, segment BLOB NOT NULL,
        PRIMARY KEY (dim, period, sensor_id)
    ) WITHOUT ROWID;
    -- Per source and day, in chunks: one row per (day, bucket) holding every source of the bucket
    -- (src/aggregate/source_chunk.hpp). Buckets 0-255: IPv4 by first octet; 256-511: IPv6 by hash.
    CREATE TABLE source_daily (
        day INTEGER NOT NULL, bucket INTEGER NOT NULL, sources INTEGER NOT NULL, chunk BLOB NOT NULL,
        PRIMARY KEY (day, bucket)
    ) WITHOUT ROWID;
    CREATE TABLE decode_events (
        sensor_id INTEGER NOT NULL, hour INTEGER NOT NULL, event TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (sensor_id, hour, event)
    ) WITHOUT ROWID;
    CREATE TABLE sensor_destinations (
        sensor_id INTEGER NOT NULL, day INTEGER NOT NULL, v4 BLOB NOT NULL, v6 BLOB NOT NULL,
        PRIMARY KEY (sensor_id, day)
    ) WITHOUT ROWID;
    -- Room for later stages, so that their migrations only add tables: country/AS and tags per
    -- source (enrichment), signature hits, detector events.
    )sql",
    // 1 -> 2: enrichment. Country, AS and fingerprint counts live in the counters (dims 4-6, and
    // 32-38 for research scanners) and in source_daily chunks (version 2); what is new here is which
    // data decided them, per file, and the reverse-DNS cache.
    R"sql(
    ALTER TABLE files ADD COLUMN enrichment TEXT NOT NULL DEFAULT '';
    CREATE TABLE rdns (
        address TEXT PRIMARY KEY,        -- as IpAddress::ToString
        name TEXT NOT NULL,              -- PTR name, '' when none
        status TEXT NOT NULL,            -- ok | nxdomain | nodata | error: ...
        resolved_at TEXT NOT NULL        -- UTC ISO time of the answer
    ) WITHOUT ROWID;
    -- Research-scanner labels by name: source_daily records hold these ids, so that editing the
    -- list (data/research_scanners.toml) never renames what is stored.
    CREATE TABLE research_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    )sql",
    // 2 -> 3: signatures. Hits are counter segments (dims 7 and 8, keyed by sid and category number);
    // this table names the sids. category: src/signature/category.hpp.
    R"sql(
    CREATE TABLE signatures (
        sid INTEGER PRIMARY KEY,
        gid INTEGER NOT NULL,
        rev INTEGER NOT NULL,
        msg TEXT NOT NULL,
        classtype TEXT NOT NULL,
        category INTEGER NOT NULL,
        source TEXT NOT NULL             -- rule file and line it was last loaded from
    );
    )sql",
    // 3 -> 4: parts of days. A file that adds to a day already stored writes its share of the day
    // here, in its own transaction, instead of reading the day back and writing it again; reads
    // unite a day with its parts, and FoldDayParts merges them into the day at the end of an ingest
    // run. Hourly rotated captures made every file rewrite the whole day.
    R"sql(
    CREATE TABLE counters_daily_parts (
        dim INTEGER NOT NULL, period INTEGER NOT NULL, sensor_id INTEGER NOT NULL, part INTEGER NOT NULL,
        segment BLOB NOT NULL,
        PRIMARY KEY (dim, period, sensor_id, part)
    ) WITHOUT ROWID;
    CREATE TABLE source_daily_parts (
        day INTEGER NOT NULL, bucket INTEGER NOT NULL, part INTEGER NOT NULL, chunk BLOB NOT NULL,
        PRIMARY KEY (day, bucket, part)
    ) WITHOUT ROWID;
    )sql",
    // 4 -> 5: days built from their hours. Ingest writes hourly counters only and marks their days
    // here; a day's counters_daily rows are then rebuilt from all its hourly rows in one pass
    // (SqliteStore::BuildDays), once the day is complete or once the ingest run ends. Until then reads
    // unite the hours. Aggregation threads no longer keep a day of segments to merge each hour into.
    // Days with daily parts (schema 4, an interrupted run) are rebuilt the same way.
    R"sql(
    CREATE TABLE days_pending (day INTEGER PRIMARY KEY);
    INSERT OR IGNORE INTO days_pending SELECT DISTINCT period FROM counters_daily_parts;
    )sql",
    // 5 -> 6: detected events (src/detect/). The columns are what lists and filters need; `detail` is
    // the whole event as JSON (detect::ToJson): top sources, regions, sensors, evidence, sentences.
    R"sql(
    CREATE TABLE detected_events (
        id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,            -- ingest (stream detectors) | series (over stored counters)
        kind TEXT NOT NULL,              -- detect::EventKindName
        detector TEXT NOT NULL,
        subject TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        magnitude REAL NOT NULL,
        packets INTEGER NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX detected_events_start ON detected_events(start_ns);
    CREATE TABLE detector_runs (
        id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,            -- ingest (one per file read) | series (one per `darkscope detect`)
        from_ns INTEGER NOT NULL,
        to_ns INTEGER NOT NULL,
        settings TEXT NOT NULL,
        ran_at TEXT NOT NULL
    );
    )sql",
    // 6 -> 7: the DNS study (seed 004). Active probes keep their history (a resolver closed since is
    // probed again); readers take the latest per address.
    R"sql(
    CREATE TABLE resolver_probes (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL,           -- as IpAddress::ToString
        status TEXT NOT NULL,            -- open | not-open | no-answer
        detail TEXT NOT NULL,
        probed_at TEXT NOT NULL,         -- UTC ISO time
        origin TEXT NOT NULL             -- probe | import:<file>
    );
    CREATE INDEX resolver_probes_address ON resolver_probes(address);
    CREATE TABLE device_probes (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL,
        device_class TEXT NOT NULL,      -- server | router | printer | network-camera | nas | dvr | load-balancer | unknown | blocked
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,            -- JSON
        probed_at TEXT NOT NULL,
        origin TEXT NOT NULL             -- nmap | import:<file>
    );
    CREATE INDEX device_probes_address ON device_probes(address);
    -- Per source and day, and per zone and hour, of 53/UDP packets (src/dns/study.hpp): the counts are
    -- columns for what sums them in SQL; record is the whole record as JSON; names and sources are sorted
    -- 64-bit hashes (little endian), capped at dns::CappedSet::CAP.
    CREATE TABLE dns_source_daily (
        day INTEGER NOT NULL, address TEXT NOT NULL,
        queries INTEGER NOT NULL, responses INTEGER NOT NULL,
        research INTEGER NOT NULL,       -- research_names id, 0 none
        record TEXT NOT NULL, names BLOB NOT NULL,
        PRIMARY KEY (day, address)
    ) WITHOUT ROWID;
    CREATE TABLE dns_zone_hourly (
        hour INTEGER NOT NULL, zone TEXT NOT NULL,
        queries INTEGER NOT NULL, responses INTEGER NOT NULL,
        record TEXT NOT NULL, names BLOB NOT NULL, sources BLOB NOT NULL,
        PRIMARY KEY (hour, zone)
    ) WITHOUT ROWID;
    )sql",
    // 7 -> 8: the heads of each daily segment (Segment::Heads: every key's counts, no sources), written
    // beside it. A report's count-only scans (top services, daily series, ratios) read these instead of
    // the segments' sources: a quarter's daily rows are gigabytes, their heads a tenth of that. Filled
    // for the days already stored by FillDailyHeads when the store migrates.
    R"sql(
    CREATE TABLE counters_daily_heads (
        dim INTEGER NOT NULL, period INTEGER NOT NULL, sensor_id INTEGER NOT NULL, heads BLOB NOT NULL,
        PRIMARY KEY (dim, period, sensor_id)
    ) WITHOUT ROWID;
    )sql",
    // 8 -> 9: the stream detectors' states still open when an ingest run ends, which the next run into the
    // store goes on from, so that a scan across two runs is one event (docs/detectors.md#runs-into-one-store).
    // Replaced whole at each run's end; the settings they were made under and that run's last packet time
    // are in meta (stream_carry.settings, stream_carry.at).
    R"sql(
    CREATE TABLE stream_carry (
        kind TEXT NOT NULL,              -- scan | campaign | rsdos
        source TEXT NOT NULL,            -- as IpAddress::ToString
        service INTEGER NOT NULL,        -- ServiceKey::packed, 4294967295 a source's "many ports"; 0 for rsdos
        last_ns INTEGER NOT NULL,        -- its last packet
        event_id INTEGER,                -- the detected_events row emitted for it when its run ended; NULL none
        state BLOB NOT NULL,             -- src/detect/stream.cpp's encoding, a version byte first
        PRIMARY KEY (kind, source, service)
    ) WITHOUT ROWID;
    )sql",
    // 9 -> 10: tables whose rows are segments, chunks and bitmaps (tens of kilobytes to megabytes) become
    // rowid tables, their keys UNIQUE constraints. A WITHOUT ROWID table is a b-tree of whole rows used as
    // keys: a lookup compared its key with rows that overflow their page by reading each one whole (a
    // segment of 150 KB on average), and its interior pages held copies of whole rows. Those reads were
    // 5.4% of the instructions of an ingest of the 1M benchmark capture; the 10M benchmark's store is 4%
    // smaller (docs/performance.md). Same columns in the same order. These are the new tables, which
    // MoveToRowidTables fills from the old ones and renames.
    R"sql(
    CREATE TABLE counters_hourly_v10 (
        dim INTEGER NOT NULL, period INTEGER NOT NULL, sensor_id INTEGER NOT NULL,
        keys INTEGER NOT NULL, packets INTEGER NOT NULL, bytes INTEGER NOT NULL, segment BLOB NOT NULL,
        UNIQUE (dim, period, sensor_id)
    );
    CREATE TABLE counters_daily_v10 (
        dim INTEGER NOT NULL, period INTEGER NOT NULL, sensor_id INTEGER NOT NULL,
        keys INTEGER NOT NULL, packets INTEGER NOT NULL, bytes INTEGER NOT NULL, segment BLOB NOT NULL,
        UNIQUE (dim, period, sensor_id)
    );
    CREATE TABLE counters_daily_heads_v10 (
        dim INTEGER NOT NULL, period INTEGER NOT NULL, sensor_id INTEGER NOT NULL, heads BLOB NOT NULL,
        UNIQUE (dim, period, sensor_id)
    );
    CREATE TABLE counters_daily_parts_v10 (
        dim INTEGER NOT NULL, period INTEGER NOT NULL, sensor_id INTEGER NOT NULL, part INTEGER NOT NULL,
        segment BLOB NOT NULL,
        UNIQUE (dim, period, sensor_id, part)
    );
    CREATE TABLE source_daily_v10 (
        day INTEGER NOT NULL, bucket INTEGER NOT NULL, sources INTEGER NOT NULL, chunk BLOB NOT NULL,
        UNIQUE (day, bucket)
    );
    CREATE TABLE source_daily_parts_v10 (
        day INTEGER NOT NULL, bucket INTEGER NOT NULL, part INTEGER NOT NULL, chunk BLOB NOT NULL,
        UNIQUE (day, bucket, part)
    );
    CREATE TABLE sensor_destinations_v10 (
        sensor_id INTEGER NOT NULL, day INTEGER NOT NULL, v4 BLOB NOT NULL, v6 BLOB NOT NULL,
        UNIQUE (sensor_id, day)
    );
    )sql",
    // 10 -> 11: ingest asks whether a stored file has the size of the next input (HasFileOfSize): only then
    // does it hash the input in a pass of its own before parsing it.
    "CREATE INDEX IF NOT EXISTS files_by_size ON files(size);",
};
constexpr int SCHEMA_VERSION = int(std::size(MIGRATIONS));

// The store's file, for errors: a statement knows its connection, not the path the store was opened by.
std::string StoreName(sqlite3 *db) {
    const char *name = db ? sqlite3_db_filename(db, "main") : nullptr;
    return name && *name ? name : "store";
}

class Statement {
public:
    Statement(sqlite3 *db, const std::string &sql) : Statement(db, sql.c_str()) {}
    Statement(sqlite3 *db, const char *sql) : db_(db) {
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
            throw StoreError(fmt::format("{}: cannot prepare statement: {}", StoreName(db), sqlite3_errmsg(db)));
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;

    Statement &Bind(int i, int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    Statement &BindReal(int i, double v) {
        sqlite3_bind_double(stmt_, i, v);
        return *this;
    }
    Statement &Bind(int i, std::string_view v) {
        sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement &BindBlob(int i, std::string_view v) {
        sqlite3_bind_blob(stmt_, i, v.empty() ? "" : v.data(), int(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    /// BindBlob without SQLite's copy (a day's segment is tens of megabytes): v must outlive the next
    /// Step or Run, after which the caller unbinds it with Unbind.
    Statement &BindBlobUncopied(int i, std::string_view v) {
        sqlite3_bind_blob(stmt_, i, v.empty() ? "" : v.data(), int(v.size()), SQLITE_STATIC);
        return *this;
    }
    Statement &Unbind(int i) {
        sqlite3_bind_null(stmt_, i);
        return *this;
    }
    /// Steps once; true if a row is available.
    bool Step() {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw StoreError(fmt::format("{}: {}", StoreName(db_), sqlite3_errmsg(db_)));
    }
    void Run() {
        Step();
        Reset();
    }
    void Reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
    std::string_view Text(int col) {
        auto p = reinterpret_cast<const char *>(sqlite3_column_text(stmt_, col));
        return p ? std::string_view(p, size_t(sqlite3_column_bytes(stmt_, col))) : std::string_view();
    }
    std::string_view Blob(int col) {
        auto p = static_cast<const char *>(sqlite3_column_blob(stmt_, col));
        return p ? std::string_view(p, size_t(sqlite3_column_bytes(stmt_, col))) : std::string_view();
    }
    bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

private:
    sqlite3 *db_;
    sqlite3_stmt *stmt_ = nullptr;
};

std::string JoinNetworks(const std::vector<IpNetwork> &nets) {
    std::string out;
    for (auto &n : nets) {
        if (!out.empty()) out += ",";
        out += n.ToString();
    }
    return out;
}

std::string NowIso() {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return FormatTimestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
}

// Copies the write-ahead log into the store file on a connection and a thread of its own, each time it
// is kicked (Store::CheckpointBehind). A passive checkpoint never blocks the writer; what one leaves in
// the log (a failure, or frames written meanwhile) readers still find there, and the next checkpoint
// or the store's close copies it.
class Checkpointer {
public:
    explicit Checkpointer(const std::string &path) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
            sqlite3_close(db_);
            db_ = nullptr;
            return;  // commits then leave the log to the store's close
        }
        sqlite3_busy_timeout(db_, 10000);
        // A connection learns that the store is in WAL mode from its first read; until then a checkpoint does
        // nothing.
        sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
        try {
            thread_ = std::thread([this] { Run(); });
        } catch (const std::system_error &) {
            sqlite3_close(db_);  // no thread to be had: commits leave the log to the store's close
            db_ = nullptr;
        }
    }
    ~Checkpointer() {
        if (thread_.joinable()) {
            {
                std::lock_guard lock(mutex_);
                stop_ = true;
            }
            changed_.notify_all();
            thread_.join();
        }
        // Not the last connection (the store's is open): closing it does not checkpoint again.
        sqlite3_close(db_);
    }
    Checkpointer(const Checkpointer &) = delete;
    Checkpointer &operator=(const Checkpointer &) = delete;
    void Kick() {
        {
            std::lock_guard lock(mutex_);
            kicked_ = true;
        }
        changed_.notify_all();
    }

private:
    void Run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            changed_.wait(lock, [&] { return kicked_ || stop_; });
            if (!kicked_) return;  // stopped with nothing left to copy
            kicked_ = false;
            lock.unlock();
            sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            lock.lock();
        }
    }

    sqlite3 *db_ = nullptr;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool kicked_ = false;
    bool stop_ = false;
    std::thread thread_;
};

class SqliteStore final : public Store {
public:
    SqliteStore(const std::string &path, bool read_only) : path_(path) {
        const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
            std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            throw StoreError(fmt::format("{}: cannot open store: {}", path, msg));
        }
        sqlite3_busy_timeout(db_, 10000);
        if (read_only) {
            // Neither the journal mode nor the schema is touched: another darkscope may be writing to it.
            try {
                const int version = SchemaVersion();
                if (version > SCHEMA_VERSION)
                    throw StoreError(
                        fmt::format("{}: store schema version {} is newer than this darkscope "
                                    "understands ({}); use a newer darkscope",
                                    path_, version, SCHEMA_VERSION));
            } catch (const StoreError &e) {
                const bool hint = MayNotBeAStore(sqlite3_errcode(db_));
                sqlite3_close(db_);
                db_ = nullptr;
                throw StoreError(std::string(e.what()) + (hint ? " (is it a darkscope store?)" : ""));
            }
            return;
        }
        try {
            // WAL: readers (summary, a dashboard) do not block ingest, and a killed writer leaves the
            // last committed file intact. synchronous=NORMAL is durable against process crashes.
            // 64 KiB pages for a new store (an existing one keeps its own): rows here are mostly segments and
            // chunks of hundreds of kilobytes, which SQLite reads and writes a page at a time through
            // overflow chains. On the 10M benchmark capture ingest ran about 10% faster and the kernel time
            // of ingest and of a quarter report halved (docs/performance.md).
            if (SchemaVersion() == 0) Exec("PRAGMA page_size=65536");
            Exec("PRAGMA journal_mode=WAL");
            Exec("PRAGMA synchronous=NORMAL");
            // 16 MiB of page cache: enough for the rows a file's hours merge into; dirty pages beyond it
            // spill to the WAL. More only added to ingest's peak memory (it was 64 MiB).
            Exec("PRAGMA cache_size=-16384");
            Migrate();
        } catch (const StoreError &e) {
            const bool hint = MayNotBeAStore(migration_error_ != SQLITE_OK ? migration_error_ : sqlite3_errcode(db_));
            sqlite3_close(db_);
            db_ = nullptr;
            throw StoreError(std::string(e.what()) +
                             (hint ? " (is it a darkscope store? --store names the SQLite file)" : ""));
        }
    }
    ~SqliteStore() override {
        checkpointer_.reset();  // its checkpoint ends before the close's own
        statements_.clear();
        sqlite3_close(db_);
    }

    int SchemaVersion() override {
        Statement s(db_, "PRAGMA user_version");
        s.Step();
        return int(s.Int(0));
    }
    std::string Location() const override { return path_; }

    std::vector<StoredSensor> LoadSensors() override {
        std::vector<StoredSensor> out;
        Statement s(db_,
                    "SELECT id, name, networks, location, provider, addresses, implicit, unattributed "
                    "FROM sensors ORDER BY id");
        while (s.Step()) {
            StoredSensor st;
            st.id = s.Int(0);
            st.sensor.name = std::string(s.Text(1));
            std::stringstream nets{std::string(s.Text(2))};
            for (std::string item; std::getline(nets, item, ',');)
                if (auto n = IpNetwork::Parse(item)) st.sensor.networks.push_back(*n);
            st.sensor.location = std::string(s.Text(3));
            st.sensor.provider = std::string(s.Text(4));
            st.sensor.addresses = uint64_t(s.Int(5));
            st.sensor.implicit = s.Int(6) != 0;
            st.unattributed = s.Int(7) != 0;
            out.push_back(std::move(st));
        }
        return out;
    }

    std::vector<int64_t> SaveSensors(const std::vector<Sensor> &sensors) override {
        std::vector<int64_t> ids;
        Statement up(db_,
                     "INSERT INTO sensors(name, networks, location, provider, addresses, implicit) "
                     "VALUES(?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET networks=excluded.networks, "
                     "location=excluded.location, provider=excluded.provider, addresses=excluded.addresses, "
                     "implicit=excluded.implicit RETURNING id");
        for (auto &s : sensors) {
            up.Bind(1, s.name).Bind(2, JoinNetworks(s.networks)).Bind(3, s.location).Bind(4, s.provider);
            up.Bind(5, int64_t(std::min<uint64_t>(s.addresses, INT64_MAX))).Bind(6, int64_t(s.implicit));
            if (!up.Step()) throw StoreError("store: sensor upsert returned no id");
            ids.push_back(up.Int(0));
            up.Reset();
        }
        return ids;
    }

    void SaveSignatures(const std::vector<SignatureInfo> &signatures) override {
        Statement up(db_,
                     "INSERT INTO signatures(sid, gid, rev, msg, classtype, category, source) VALUES(?,?,?,?,?,?,?) "
                     "ON CONFLICT(sid) DO UPDATE SET gid=excluded.gid, rev=excluded.rev, msg=excluded.msg, "
                     "classtype=excluded.classtype, category=excluded.category, source=excluded.source");
        for (const SignatureInfo &s : signatures) {
            up.Bind(1, int64_t(s.sid)).Bind(2, int64_t(s.gid)).Bind(3, int64_t(s.rev)).Bind(4, s.msg);
            up.Bind(5, s.classtype).Bind(6, int64_t(s.category)).Bind(7, s.source);
            up.Run();
        }
    }

    std::vector<SignatureInfo> LoadSignatures() override {
        Statement q(db_, "SELECT sid, gid, rev, msg, classtype, category, source FROM signatures ORDER BY sid");
        std::vector<SignatureInfo> out;
        while (q.Step()) {
            SignatureInfo s;
            s.sid = uint32_t(q.Int(0));
            s.gid = uint32_t(q.Int(1));
            s.rev = uint32_t(q.Int(2));
            s.msg = q.Text(3);
            s.classtype = q.Text(4);
            s.category = uint8_t(q.Int(5));
            s.source = q.Text(6);
            out.push_back(std::move(s));
        }
        return out;
    }

    int64_t UnattributedSensorId() override {
        Statement q(db_, "SELECT id FROM sensors WHERE unattributed = 1");
        if (q.Step()) return q.Int(0);
        Statement ins(db_,
                      "INSERT INTO sensors(name, networks, addresses, unattributed) "
                      "VALUES('(unattributed)', '', 0, 1) RETURNING id");
        ins.Step();
        return ins.Int(0);
    }

    std::vector<int64_t> SaveResearchNames(const std::vector<std::string> &names) override {
        std::vector<int64_t> ids;
        Statement ins(db_,
                      "INSERT INTO research_names(name) VALUES(?) ON CONFLICT(name) DO UPDATE SET name=name "
                      "RETURNING id");
        for (const auto &n : names) {
            ins.Bind(1, n);
            if (!ins.Step()) throw StoreError("store: research name upsert returned no id");
            ids.push_back(ins.Int(0));
            ins.Reset();
        }
        return ids;
    }

    void PutRdns(const RdnsRecord &r) override {
        Statement &put = Cached("INSERT OR REPLACE INTO rdns(address, name, status, resolved_at) VALUES(?,?,?,?)");
        put.Bind(1, r.address)
            .Bind(2, r.name)
            .Bind(3, r.status)
            .Bind(4, r.resolved_at.empty() ? NowIso() : r.resolved_at);
        put.Run();
    }

    void ScanRdns(const std::function<void(const RdnsRecord &)> &f) override {
        Statement s(db_, "SELECT address, name, status, resolved_at FROM rdns");
        while (s.Step())
            f(RdnsRecord{std::string(s.Text(0)), std::string(s.Text(1)), std::string(s.Text(2)),
                         std::string(s.Text(3))});
    }

    // The condition on a probe table's row `r` that keeps only the latest probe of its address: ISO times sort as
    // text, and ties (one import writes many rows a second) go to the later row.
    static std::string LatestOfItsAddress(std::string_view table) {
        return fmt::format(
            "id = (SELECT id FROM {} q WHERE q.address = r.address ORDER BY probed_at DESC, id DESC LIMIT 1)", table);
    }

    // The DNS study's rows as records; a row that does not decode is the store's fault, named with the store.
    dns::SourceDay ReadDnsSource(Statement &q, int col) {
        try {
            dns::SourceDay r = dns::SourceDayFromJsonText(q.Text(col));
            dns::UnpackHashes(q.Blob(col + 1), r.names);
            return r;
        } catch (const std::exception &e) {
            throw StoreError(fmt::format("{}: {}", path_, e.what()));
        }
    }
    dns::ZoneHour ReadDnsZone(Statement &q, int col) {
        try {
            dns::ZoneHour z = dns::ZoneHourFromJsonText(q.Text(col));
            dns::UnpackHashes(q.Blob(col + 1), z.names);
            dns::UnpackHashes(q.Blob(col + 2), z.sources);
            return z;
        } catch (const std::exception &e) {
            throw StoreError(fmt::format("{}: {}", path_, e.what()));
        }
    }

    void MergeDnsSources(const std::vector<dns::SourceDay> &sources) override {
        Statement &get = Cached("SELECT record, names FROM dns_source_daily WHERE day = ? AND address = ?");
        Statement &put = Cached(
            "INSERT OR REPLACE INTO dns_source_daily(day, address, queries, responses, research, "
            "record, names) VALUES(?,?,?,?,?,?,?)");
        // A day not stored yet (the common case: files in time order) has nothing to merge with: no lookups.
        Statement &any = Cached("SELECT 1 FROM dns_source_daily WHERE day = ? LIMIT 1");
        int64_t checked_day = INT64_MIN;
        bool day_stored = false;
        for (const auto &s : sources) {
            if (s.day != checked_day) {
                any.Bind(1, s.day);
                day_stored = any.Step();
                any.Reset();
                checked_day = s.day;
            }
            const std::string address = s.address.ToString();
            const dns::SourceDay *row = &s;
            dns::SourceDay merged;
            if (day_stored) {
                get.Bind(1, s.day).Bind(2, address);
                if (get.Step()) {
                    merged = ReadDnsSource(get, 0);
                    // The earlier record first, so that the gap between them is counted (SourceDay::Merge).
                    if (merged.first_ts <= s.first_ts) {
                        merged.Merge(s);
                    } else {
                        dns::SourceDay later = std::move(merged);
                        merged = s;
                        merged.Merge(later);
                    }
                    row = &merged;
                }
                get.Reset();
            }
            put.Bind(1, s.day).Bind(2, address).Bind(3, int64_t(row->queries)).Bind(4, int64_t(row->responses));
            put.Bind(5, int64_t(row->research)).Bind(6, dns::ToJsonText(*row)).BindBlob(7, dns::PackHashes(row->names));
            put.Run();
        }
    }

    void MergeDnsZones(const std::vector<dns::ZoneHour> &zones) override {
        Statement &get = Cached("SELECT record, names, sources FROM dns_zone_hourly WHERE hour = ? AND zone = ?");
        Statement &put = Cached(
            "INSERT OR REPLACE INTO dns_zone_hourly(hour, zone, queries, responses, record, names, "
            "sources) VALUES(?,?,?,?,?,?,?)");
        for (const auto &z : zones) {
            const dns::ZoneHour *row = &z;
            dns::ZoneHour merged;
            get.Bind(1, z.hour).Bind(2, z.zone);
            if (get.Step()) {
                merged = ReadDnsZone(get, 0);
                merged.Merge(z);
                row = &merged;
            }
            get.Reset();
            put.Bind(1, z.hour).Bind(2, z.zone).Bind(3, int64_t(row->queries)).Bind(4, int64_t(row->responses));
            put.Bind(5, dns::ToJsonText(*row)).BindBlob(6, dns::PackHashes(row->names));
            put.BindBlob(7, dns::PackHashes(row->sources));
            put.Run();
        }
    }

    DnsSplit SumDnsSources(int64_t from_day, int64_t to_day, bool exclude_research) override {
        DnsSplit out;
        if (SchemaVersion() < 7) return out;
        // The latest verdict per address, as LatestResolverProbes takes it.
        Statement s(db_, "WITH latest AS (SELECT address, status FROM resolver_probes r WHERE " +
                             LatestOfItsAddress("resolver_probes") +
                             ") SELECT coalesce(l.status = 'open', 0), sum(d.queries), sum(d.responses), "
                             "count(DISTINCT d.address) FROM dns_source_daily d "
                             "LEFT JOIN latest l ON l.address = d.address "
                             "WHERE d.day BETWEEN ? AND ? AND (? = 0 OR d.research = 0) GROUP BY 1");
        s.Bind(1, from_day).Bind(2, to_day).Bind(3, int64_t(exclude_research));
        while (s.Step()) {
            const int open = s.Int(0) ? 1 : 0;
            out.queries[open] = uint64_t(s.Int(1));
            out.responses[open] = uint64_t(s.Int(2));
            out.sources[open] = uint64_t(s.Int(3));
        }
        Statement probed(db_,
                         "SELECT count(DISTINCT d.address) FROM dns_source_daily d WHERE d.day BETWEEN ? AND ? "
                         "AND (? = 0 OR d.research = 0) AND d.address IN (SELECT address FROM resolver_probes)");
        probed.Bind(1, from_day).Bind(2, to_day).Bind(3, int64_t(exclude_research));
        if (probed.Step()) out.probed_sources = uint64_t(probed.Int(0));
        return out;
    }

    void ScanDnsSources(int64_t from_day, int64_t to_day,
                        const std::function<void(const dns::SourceDay &)> &f) override {
        if (SchemaVersion() < 7) return;
        Statement s(db_, "SELECT record, names FROM dns_source_daily WHERE day BETWEEN ? AND ? ORDER BY day, address");
        s.Bind(1, from_day).Bind(2, to_day);
        while (s.Step())
            f(ReadDnsSource(s, 0));
    }

    bool HasResolverProbes() override {
        if (SchemaVersion() < 7) return false;
        Statement s(db_, "SELECT EXISTS(SELECT 1 FROM resolver_probes)");
        return s.Step() && s.Int(0) != 0;
    }

    std::vector<dns::ZoneHour> TopDnsZones(int64_t from_hour, int64_t to_hour, size_t top) override {
        std::vector<dns::ZoneHour> out;
        if (SchemaVersion() < 7 || top == 0) return out;
        Statement rank(db_,
                       "SELECT zone FROM dns_zone_hourly WHERE hour BETWEEN ? AND ? GROUP BY zone "
                       "ORDER BY sum(queries) + sum(responses) DESC, zone LIMIT ?");
        rank.Bind(1, from_hour).Bind(2, to_hour).Bind(3, int64_t(std::min<size_t>(top, INT64_MAX)));
        std::vector<std::string> zones;
        while (rank.Step())
            zones.emplace_back(rank.Text(0));
        Statement read(db_,
                       "SELECT record, names, sources FROM dns_zone_hourly WHERE hour BETWEEN ? AND ? AND zone = ? "
                       "ORDER BY hour");
        for (const std::string &zone : zones) {
            read.Bind(1, from_hour).Bind(2, to_hour).Bind(3, zone);
            dns::ZoneHour total;
            bool first = true;
            while (read.Step()) {
                dns::ZoneHour z = ReadDnsZone(read, 0);
                if (first) {
                    total = std::move(z);
                    first = false;
                } else {
                    total.Merge(z);
                }
            }
            read.Reset();
            if (!first) out.push_back(std::move(total));
        }
        return out;
    }

    void ScanDnsZones(int64_t from_hour, int64_t to_hour,
                      const std::function<void(const dns::ZoneHour &)> &f) override {
        if (SchemaVersion() < 7) return;
        Statement s(
            db_, "SELECT record, names, sources FROM dns_zone_hourly WHERE hour BETWEEN ? AND ? ORDER BY hour, zone");
        s.Bind(1, from_hour).Bind(2, to_hour);
        while (s.Step())
            f(ReadDnsZone(s, 0));
    }

    void PutResolverProbe(const ResolverProbe &p) override {
        Statement &put =
            Cached("INSERT INTO resolver_probes(address, status, detail, probed_at, origin) VALUES(?,?,?,?,?)");
        put.Bind(1, p.address)
            .Bind(2, p.status)
            .Bind(3, p.detail)
            .Bind(4, p.probed_at.empty() ? NowIso() : p.probed_at);
        put.Bind(5, p.origin);
        put.Run();
    }

    std::vector<ResolverProbe> LatestResolverProbes() override {
        std::vector<ResolverProbe> out;
        if (SchemaVersion() < 7) return out;
        Statement s(db_, "SELECT address, status, detail, probed_at, origin FROM resolver_probes r WHERE " +
                             LatestOfItsAddress("resolver_probes") + " ORDER BY address");
        while (s.Step())
            out.push_back(ResolverProbe{std::string(s.Text(0)), std::string(s.Text(1)), std::string(s.Text(2)),
                                        std::string(s.Text(3)), std::string(s.Text(4))});
        return out;
    }

    void PutDeviceProbe(const DeviceProbe &p) override {
        Statement &put = Cached(
            "INSERT INTO device_probes(address, device_class, reason, detail, probed_at, origin) "
            "VALUES(?,?,?,?,?,?)");
        put.Bind(1, p.address).Bind(2, p.device_class).Bind(3, p.reason).Bind(4, p.detail);
        put.Bind(5, p.probed_at.empty() ? NowIso() : p.probed_at).Bind(6, p.origin);
        put.Run();
    }

    std::vector<DeviceProbe> LatestDeviceProbes() override {
        std::vector<DeviceProbe> out;
        if (SchemaVersion() < 7) return out;
        Statement s(db_, "SELECT address, device_class, reason, detail, probed_at, origin FROM device_probes r WHERE " +
                             LatestOfItsAddress("device_probes") + " ORDER BY address");
        while (s.Step())
            out.push_back(DeviceProbe{std::string(s.Text(0)), std::string(s.Text(1)), std::string(s.Text(2)),
                                      std::string(s.Text(3)), std::string(s.Text(4)), std::string(s.Text(5))});
        return out;
    }

    std::vector<int64_t> PutDetectedEvents(std::string_view origin,
                                           const std::vector<detect::DetectedEvent> &events) override {
        Statement &put = Cached(
            "INSERT INTO detected_events(origin, kind, detector, subject, start_ns, end_ns, magnitude, "
            "packets, detail) VALUES(?,?,?,?,?,?,?,?,?)");
        std::vector<int64_t> ids;
        ids.reserve(events.size());
        for (auto &e : events) {
            put.Bind(1, origin).Bind(2, detect::EventKindName(e.kind)).Bind(3, e.detector).Bind(4, e.subject);
            put.Bind(5, e.start).Bind(6, e.end).BindReal(7, e.magnitude).Bind(8, int64_t(e.packets));
            put.Bind(9, detect::ToJsonText(e));
            put.Run();
            ids.push_back(sqlite3_last_insert_rowid(db_));
        }
        return ids;
    }

    uint64_t DeleteDetectedEventsById(std::string_view origin, std::span<const int64_t> ids) override {
        Statement &del = Cached("DELETE FROM detected_events WHERE id=? AND origin=?");
        uint64_t removed = 0;
        for (int64_t id : ids) {
            del.Bind(1, id).Bind(2, origin);
            del.Run();
            removed += uint64_t(sqlite3_changes64(db_));
        }
        return removed;
    }

    std::optional<StreamCarry> LoadStreamCarry() override {
        if (SchemaVersion() < 9) return std::nullopt;
        StreamCarry carry;
        bool saved = false;
        Statement meta(db_, "SELECT key, value FROM meta WHERE key IN ('stream_carry.settings', 'stream_carry.at')");
        while (meta.Step()) {
            const std::string_view value = meta.Text(1);
            if (meta.Text(0) == "stream_carry.settings") {
                carry.settings = std::string(value);
                saved = true;
            } else if (std::from_chars(value.data(), value.data() + value.size(), carry.at).ec != std::errc()) {
                carry.unreadable.push_back(fmt::format("meta stream_carry.at '{}' is not a timestamp", value));
            }
        }
        if (!saved) return std::nullopt;
        Statement s(db_,
                    "SELECT kind, source, service, last_ns, event_id, state FROM stream_carry "
                    "ORDER BY kind, source, service");
        while (s.Step()) {
            const auto kind = detect::CarriedKindFromName(s.Text(0));
            const auto source = IpAddress::Parse(s.Text(1));
            const int64_t service = s.Int(2);
            if (!kind || !source || service < 0 || service > int64_t(UINT32_MAX)) {
                carry.unreadable.push_back(fmt::format("row ({}, {}, {}) names no state kind, address and service",
                                                       s.Text(0), s.Text(1), service));
                continue;
            }
            detect::CarriedState state;
            state.kind = *kind;
            state.source = *source;
            state.service = uint32_t(service);
            state.last = s.Int(3);
            state.event_id = s.IsNull(4) ? 0 : s.Int(4);
            state.state = std::string(s.Blob(5));
            carry.states.push_back(std::move(state));
        }
        return carry;
    }

    void ReplaceStreamCarry(const StreamCarry &carry) override {
        Cached("DELETE FROM stream_carry").Run();
        Statement &put = Cached(
            "INSERT INTO stream_carry(kind, source, service, last_ns, event_id, state) "
            "VALUES(?,?,?,?,?,?)");
        // In key order, so that each insert lands at the end of the table's B-tree: 205,000 states took 0.6 s in
        // the detectors' (hash) order and 0.4 s so, a third of it making and sorting the keys.
        struct Row {
            std::string_view kind;
            std::string source;
            const detect::CarriedState *state;
        };
        std::vector<Row> rows;
        rows.reserve(carry.states.size());
        for (const detect::CarriedState &c : carry.states)
            rows.push_back(Row{detect::CarriedKindName(c.kind), c.source.ToString(), &c});
        std::sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) {
            return std::tie(a.kind, a.source, a.state->service) < std::tie(b.kind, b.source, b.state->service);
        });
        for (const Row &row : rows) {
            const detect::CarriedState &c = *row.state;
            put.Bind(1, row.kind).Bind(2, row.source).Bind(3, int64_t(c.service));
            put.Bind(4, c.last);
            if (c.event_id != 0) put.Bind(5, c.event_id);
            put.BindBlob(6, c.state);
            put.Run();
        }
        Statement &meta = Cached(
            "INSERT OR REPLACE INTO meta(key, value) VALUES('stream_carry.settings', ?), "
            "('stream_carry.at', ?)");
        meta.Bind(1, carry.settings).Bind(2, std::to_string(carry.at));
        meta.Run();
    }

    void PutDetectorRun(const DetectorRun &run) override {
        Statement &put =
            Cached("INSERT INTO detector_runs(origin, from_ns, to_ns, settings, ran_at) VALUES(?,?,?,?,?)");
        put.Bind(1, run.origin).Bind(2, run.from).Bind(3, run.to).Bind(4, run.settings);
        put.Bind(5, run.ran_at.empty() ? NowIso() : run.ran_at);
        put.Run();
    }

    void ScanDetectorRuns(TimestampNs from, TimestampNs to,
                          const std::function<void(const DetectorRun &)> &f) override {
        if (SchemaVersion() < 6) return;
        Statement s(db_,
                    "SELECT origin, from_ns, to_ns, settings, ran_at FROM detector_runs WHERE from_ns <= ? AND "
                    "to_ns >= ? ORDER BY id");
        s.Bind(1, to).Bind(2, from);
        while (s.Step())
            f(DetectorRun{std::string(s.Text(0)), s.Int(1), s.Int(2), std::string(s.Text(3)), std::string(s.Text(4))});
    }

    uint64_t DeleteDetectedEvents(std::string_view origin, TimestampNs from, TimestampNs to) override {
        Statement &del = Cached("DELETE FROM detected_events WHERE origin=? AND start_ns BETWEEN ? AND ?");
        del.Bind(1, origin).Bind(2, from).Bind(3, to);
        del.Run();
        return uint64_t(sqlite3_changes64(db_));
    }

    void ScanDetectedEvents(TimestampNs from, TimestampNs to,
                            const std::function<void(const StoredEvent &)> &f) override {
        if (SchemaVersion() < 6) return;
        Statement s(db_,
                    "SELECT id, origin, detail FROM detected_events WHERE start_ns <= ? AND end_ns >= ? "
                    "ORDER BY start_ns, id");
        s.Bind(1, to).Bind(2, from);
        ReadDetectedEvents(s, f);
    }

    std::map<std::string, uint64_t> CountDetectedEvents(TimestampNs from, TimestampNs to) override {
        std::map<std::string, uint64_t> out;
        if (SchemaVersion() < 6) return out;
        Statement s(db_,
                    "SELECT kind, count(*) FROM detected_events WHERE start_ns <= ? AND end_ns >= ? GROUP BY kind");
        s.Bind(1, to).Bind(2, from);
        while (s.Step())
            out[std::string(s.Text(0))] = uint64_t(s.Int(1));
        return out;
    }

    void ScanLargestDetectedEvents(TimestampNs from, TimestampNs to, size_t top,
                                   const std::function<void(const StoredEvent &)> &f) override {
        if (SchemaVersion() < 6) return;
        Statement s(db_,
                    "SELECT id, origin, detail FROM (SELECT id, origin, detail, start_ns, row_number() OVER "
                    "(PARTITION BY kind ORDER BY magnitude DESC, start_ns, id) AS rank FROM detected_events "
                    "WHERE start_ns <= ? AND end_ns >= ?) WHERE rank <= ? ORDER BY start_ns, id");
        s.Bind(1, to).Bind(2, from).Bind(3, int64_t(top));
        ReadDetectedEvents(s, f);
    }

    void ReadDetectedEvents(Statement &s, const std::function<void(const StoredEvent &)> &f) {
        while (s.Step()) {
            StoredEvent e;
            e.id = s.Int(0);
            e.origin = std::string(s.Text(1));
            try {
                e.event = detect::EventFromJson(nlohmann::ordered_json::parse(s.Text(2)));
            } catch (const nlohmann::json::exception &ex) {
                throw StoreError(fmt::format("store {}: detected event {} is malformed: {}", path_, e.id, ex.what()));
            }
            f(e);
        }
    }

    std::map<int64_t, std::string> LoadResearchNames() override {
        std::map<int64_t, std::string> out;
        Statement s(db_, "SELECT id, name FROM research_names");
        while (s.Step())
            out[s.Int(0)] = std::string(s.Text(1));
        return out;
    }

    std::optional<FileRecord> FindFile(const std::string &hash) override {
        auto files = QueryFiles("WHERE content_hash = ?", hash);
        if (files.empty()) return std::nullopt;
        return files.front();
    }
    std::vector<FileRecord> ListFiles() override { return QueryFiles("ORDER BY id", {}); }
    bool HasFileOfSize(uint64_t size) override {
        Statement &s = Cached("SELECT 1 FROM files WHERE size = ? LIMIT 1");
        s.Bind(1, int64_t(size));
        const bool found = s.Step();
        s.Reset();
        return found;
    }

    void Begin() override { Exec("BEGIN IMMEDIATE"); }
    void Commit() override {
        Exec("COMMIT");
        if (checkpointer_) checkpointer_->Kick();
    }
    void CheckpointBehind(bool on) override {
        if (on == bool(checkpointer_)) return;
        // Errors are left alone: either way the log's frames are read where they are, and copied at the latest
        // when the store closes; and this is called on the way out of a failed ingest too.
        if (on) {
            sqlite3_exec(db_, "PRAGMA wal_autocheckpoint=0", nullptr, nullptr, nullptr);
            checkpointer_ = std::make_unique<Checkpointer>(path_);
        } else {
            checkpointer_.reset();
            sqlite3_exec(db_, "PRAGMA wal_autocheckpoint=1000", nullptr, nullptr, nullptr);
        }
    }
    void Rollback() override {
        if (!sqlite3_get_autocommit(db_)) Exec("ROLLBACK");
    }

    void MergeHourlyCounters(CounterRows &rows, const std::vector<int64_t> &sensor_ids,
                             int64_t unattributed_id) override {
        Statement &sel = Cached("SELECT segment FROM counters_hourly WHERE dim=? AND period=? AND sensor_id=?");
        Statement &put = Cached(
            "INSERT OR REPLACE INTO counters_hourly(dim, period, sensor_id, keys, packets, bytes, "
            "segment) VALUES(?,?,?,?,?,?,?)");
        Statement &mark = Cached("INSERT OR IGNORE INTO days_pending(day) VALUES(?)");
        int64_t last_marked = INT64_MIN;
        for (auto &[k, segment] : rows) {
            int64_t sensor_id = k.sensor == UNATTRIBUTED ? unattributed_id : sensor_ids.at(k.sensor);
            if (const int64_t day = FloorDiv(k.period, 24); day != last_marked) {
                mark.Bind(1, day).Run();
                last_marked = day;
            }
            sel.Bind(1, int64_t(k.dim)).Bind(2, k.period).Bind(3, sensor_id);
            if (sel.Step()) {
                // A late packet for an hour already stored (out-of-order captures, a later file).
                auto stored = Segment::DecodePacked(std::string(sel.Blob(0)));
                if (!stored)
                    throw StoreError(
                        fmt::format("{}: counters_hourly segment (dim {}, period {}, sensor {}) is corrupt", path_,
                                    int(k.dim), k.period, sensor_id));
                segment.Merge(std::move(*stored));
            }
            sel.Reset();
            const OwnHour own{0, segment.Size(), segment.Packets(), segment.Bytes()};
            put.Bind(1, int64_t(k.dim)).Bind(2, k.period).Bind(3, sensor_id).Bind(4, int64_t(own.rows));
            put.Bind(5, int64_t(own.packets)).Bind(6, int64_t(own.bytes));
            // The rows are stored once merged: the segment is emptied (its memory given back as it goes).
            const std::string blob = segment.TakeEncoding();
            put.BindBlobUncopied(7, blob);
            put.Run();
            put.Unbind(7);
            own_hours_[OwnHourKey{int64_t(k.dim), k.period, sensor_id}] =
                OwnHour{XXH3_64bits(blob.data(), blob.size()), own.rows, own.packets, own.bytes};
        }
    }

    void MergeSources(SourceChunks &chunks) override {
        Statement &put = Cached("INSERT OR REPLACE INTO source_daily(day, bucket, sources, chunk) VALUES(?,?,?,?)");
        Statement &add = Cached(
            "INSERT INTO source_daily_parts(day, bucket, part, chunk) VALUES(?,?,"
            "(SELECT coalesce(max(part), 0) + 1 FROM source_daily_parts WHERE day=? AND bucket=?),?)");
        for (auto &[key, parts] : chunks) {
            // The workers' parts of the bucket as one chunk: a lone part as it came (the common case).
            std::string blob;
            uint64_t count = 0;
            if (parts.size() == 1) {
                blob = std::move(parts[0]);
                auto n = SourceChunkCount(blob);
                if (!n)
                    throw StoreError(fmt::format("{}: a new source_daily chunk (day {}, bucket {}) is corrupt", path_,
                                                 key.first, key.second));
                count = *n;
            } else if (auto interleaved = InterleaveSourceChunks(parts)) {
                // The workers' parts hold disjoint sources (each source has one worker): their records interleave.
                blob = std::move(*interleaved);
                count = *SourceChunkCount(blob);
            } else {
                std::vector<SourceDay> records;
                for (const std::string &p : parts) {
                    auto more = DecodeSourceChunk(p);
                    if (!more)
                        throw StoreError(fmt::format("{}: a new source_daily chunk (day {}, bucket {}) is corrupt",
                                                     path_, key.first, key.second));
                    records = MergeSourceChunks(std::move(records), std::move(*more));
                }
                blob = EncodeSourceChunk(records);
                count = records.size();
            }
            if (ChunkExists(key.first, key.second)) {
                // A bucket of a day already stored: written as a part of it, like the counters (migration 3 -> 4).
                add.Bind(1, key.first).Bind(2, key.second).Bind(3, key.first).Bind(4, key.second).BindBlob(5, blob);
                add.Run();
            } else {
                put.Bind(1, key.first).Bind(2, key.second).Bind(3, int64_t(count)).BindBlob(4, blob);
                put.Run();
            }
            std::vector<std::string>().swap(parts);
        }
        chunks.clear();
    }

    void MergeEvents(const FlatMap<EventKey, uint64_t, EventKeyHash> &events, const std::vector<int64_t> &sensor_ids,
                     int64_t unattributed_id) override {
        Statement &put = Cached(
            "INSERT INTO decode_events(sensor_id, hour, event, count) VALUES(?,?,?,?) "
            "ON CONFLICT(sensor_id, hour, event) DO UPDATE SET count = count + excluded.count");
        events.ForEach([&](const EventKey &k, uint64_t count) {
            int64_t sensor_id = k.sensor == UNATTRIBUTED ? unattributed_id : sensor_ids.at(k.sensor);
            put.Bind(1, sensor_id).Bind(2, k.hour).Bind(3, EventName(k.event));
            put.Bind(4, int64_t(count));
            put.Run();
        });
    }

    void MergeDestinations(std::map<std::pair<int32_t, SensorIndex>, SourceSet> &destinations,
                           const std::vector<int64_t> &sensor_ids) override {
        Statement &sel = Cached("SELECT v4, v6 FROM sensor_destinations WHERE sensor_id=? AND day=?");
        Statement &put = Cached("INSERT OR REPLACE INTO sensor_destinations(sensor_id, day, v4, v6) VALUES(?,?,?,?)");
        for (auto &[k, set] : destinations) {
            int64_t sensor_id = sensor_ids.at(k.second);
            sel.Bind(1, sensor_id).Bind(2, k.first);
            if (sel.Step() && !set.MergeSerialized(sel.Blob(0), sel.Blob(1)))
                throw StoreError(fmt::format("{}: sensor_destinations row (day {}) is corrupt", path_, k.first));
            sel.Reset();
            put.Bind(1, sensor_id).Bind(2, k.first).BindBlob(3, set.SerializeV4()).BindBlob(4, set.SerializeV6());
            put.Run();
        }
    }

    void InsertFile(const FileRecord &f) override {
        Statement s(db_,
                    "INSERT INTO files(content_hash, path, size, format, compression, packets, bytes, first_ts, "
                    "last_ts, status, message, ingested_at, enrichment) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
        s.Bind(1, f.content_hash).Bind(2, f.path).Bind(3, int64_t(f.size)).Bind(4, f.format).Bind(5, f.compression);
        s.Bind(6, int64_t(f.packets)).Bind(7, int64_t(f.bytes)).Bind(8, f.first_ts).Bind(9, f.last_ts);
        s.Bind(10, f.status).Bind(11, f.message).Bind(12, f.ingested_at.empty() ? NowIso() : f.ingested_at);
        s.Bind(13, f.enrichment);
        s.Run();
    }

    bool ChunkExists(int64_t day, int64_t bucket) {
        Statement &q = Cached("SELECT 1 FROM source_daily WHERE day=? AND bucket=?");
        q.Bind(1, day).Bind(2, bucket);
        const bool found = q.Step();
        q.Reset();
        return found;
    }
    // The hourly rows this store object wrote, by (dimension, period, sensor id): a day's build takes a row that
    // still hashes as written for the encoding it is, without checking it again (the check read every source
    // delta of the day, a third as much work as uniting them). A row changed since, by a rollback or another
    // writer, hashes otherwise and is checked.
    struct OwnHourKey {
        int64_t dim, period, sensor_id;
        auto operator<=>(const OwnHourKey &) const = default;
    };
    struct OwnHour {
        uint64_t hash = 0;  // XXH3 of the encoding
        uint64_t rows = 0, packets = 0, bytes = 0;
    };
    using OwnHours = std::map<OwnHourKey, OwnHour>;
    OwnHours own_hours_;

    // A day's hourly segments of one (dimension, sensor), in hour order.
    std::vector<Segment> HoursOfDay(int64_t dim, int64_t sensor_id, int64_t day) {
        return ReadHoursOfDay(Cached(HOURS_OF_DAY_SQL), path_, own_hours_, dim, sensor_id, day);
    }
    static constexpr const char *HOURS_OF_DAY_SQL =
        "SELECT period, segment FROM counters_hourly WHERE dim=? AND period BETWEEN ? AND ? AND sensor_id=? "
        "ORDER BY period";
    // `q`: HOURS_OF_DAY_SQL, on any connection to the store.
    // `own`: read only, so that helper threads may share it.
    static std::vector<Segment> ReadHoursOfDay(Statement &q, const std::string &path, const OwnHours &own, int64_t dim,
                                               int64_t sensor_id, int64_t day) {
        q.Bind(1, dim).Bind(2, day * 24).Bind(3, day * 24 + 23).Bind(4, sensor_id);
        std::vector<Segment> out;
        try {
            while (q.Step()) {
                const std::string_view blob = q.Blob(1);
                if (auto it = own.find(OwnHourKey{dim, q.Int(0), sensor_id});
                    it != own.end() && XXH3_64bits(blob.data(), blob.size()) == it->second.hash) {
                    const OwnHour &h = it->second;
                    out.push_back(Segment::FromOwnEncoding(std::string(blob), h.rows, h.packets, h.bytes));
                    continue;
                }
                auto hour = Segment::DecodePacked(std::string(blob));
                if (!hour)
                    throw StoreError(
                        fmt::format("{}: counters_hourly segment (dim {}, period {}, sensor {}) is corrupt", path, dim,
                                    q.Int(0), sensor_id));
                out.push_back(std::move(*hour));
            }
        } catch (...) {
            q.Reset();
            throw;
        }
        q.Reset();
        return out;
    }
    // A read-only connection of a day build's helper thread, for hours already committed.
    struct HourReader {
        sqlite3 *db = nullptr;
        std::unique_ptr<Statement> hours;
        explicit HourReader(const std::string &path) {
            if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
                std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
                sqlite3_close(db);
                throw StoreError(fmt::format("{}: cannot open store to read its hours: {}", path, msg));
            }
            sqlite3_busy_timeout(db, 10000);
            try {
                hours = std::make_unique<Statement>(db, HOURS_OF_DAY_SQL);
            } catch (...) {
                sqlite3_close(db);
                throw;
            }
        }
        ~HourReader() {
            hours.reset();
            sqlite3_close(db);
        }
        HourReader(const HourReader &) = delete;
        HourReader &operator=(const HourReader &) = delete;
    };
    // Hours of a day read for one build batch: a bound on what a day's build holds at once.
    size_t day_build_batch_bytes_ = size_t(48) << 20;
    void SetDayBuildBatchBytes(size_t bytes) override { day_build_batch_bytes_ = bytes; }
    // A day's rows of one dimension, from its hourly rows: one segment per sensor id, each the union of
    // the day's hours in one pass (Segment::UniteMany).
    std::map<int64_t, Segment> DayFromHours(int64_t dim, int64_t day) {
        std::map<int64_t, Segment> out;
        Statement &q = Cached("SELECT DISTINCT sensor_id FROM counters_hourly WHERE dim=? AND period BETWEEN ? AND ?");
        q.Bind(1, dim).Bind(2, day * 24).Bind(3, day * 24 + 23);
        std::vector<int64_t> sensor_ids;
        while (q.Step())
            sensor_ids.push_back(q.Int(0));
        q.Reset();
        for (const int64_t sensor_id : sensor_ids)
            out[sensor_id] = Segment::UniteMany(HoursOfDay(dim, sensor_id, day));
        return out;
    }
    void PutDailyHeads(int64_t dim, int64_t day, int64_t sensor_id, std::string_view segment) {
        const auto heads = Segment::Heads(segment);
        if (!heads)
            throw StoreError(fmt::format("{}: counters_daily segment (dim {}, period {}, sensor {}) is corrupt", path_,
                                         dim, day, sensor_id));
        PutHeads(dim, day, sensor_id, *heads);
    }
    void PutHeads(int64_t dim, int64_t day, int64_t sensor_id, std::string_view heads) {
        Statement &put =
            Cached("INSERT OR REPLACE INTO counters_daily_heads(dim, period, sensor_id, heads) VALUES(?,?,?,?)");
        put.Bind(1, dim).Bind(2, day).Bind(3, sensor_id).BindBlobUncopied(4, heads);
        put.Run();
        put.Unbind(4);
    }
    // The heads of every daily row stored before schema 8. A row whose heads do not decode marks its day to be
    // rebuilt from its hours instead, as an interrupted build leaves a day: reads unite the hours until the next
    // ingest run's end rebuilds it. Refused, it stopped the migration, and with it every later ingest into the store.
    void FillDailyHeads() {
        Statement q(db_, "SELECT dim, period, sensor_id, segment FROM counters_daily");
        Statement rebuild(db_, "INSERT OR IGNORE INTO days_pending(day) VALUES(?)");
        while (q.Step()) {
            if (const auto heads = Segment::Heads(q.Blob(3)))
                PutHeads(q.Int(0), q.Int(1), q.Int(2), *heads);
            else
                rebuild.Bind(1, q.Int(1)).Run();
        }
    }
    // Dimensions are stored as 8-bit numbers; a seek per possible one costs less than scanning the hours
    // for the ones present.
    static constexpr int64_t DIMENSION_NUMBERS = 256;

    void BuildDays(int64_t up_to_day, unsigned threads) override { BuildDaysFrom(up_to_day, threads, false); }
    // `hours_committed`: every hour of these days is committed (as for FoldDayParts, not inside a file's
    // transaction), so that the helper threads read the hours of their pairs on read-only connections of
    // their own, beside the uniting: read on this thread, the hours were a third of the 10M benchmark's build.
    void BuildDaysFrom(int64_t up_to_day, unsigned threads, bool hours_committed) {
        std::vector<int64_t> days;
        {
            Statement q(db_, "SELECT day FROM days_pending WHERE day <= ? ORDER BY day");
            q.Bind(1, up_to_day);
            while (q.Step())
                days.push_back(q.Int(0));
        }
        Statement &put = Cached(
            "INSERT OR REPLACE INTO counters_daily(dim, period, sensor_id, keys, packets, bytes, "
            "segment) VALUES(?,?,?,?,?,?,?)");
        struct Task {
            int64_t dim = 0, sensor_id = 0;
            size_t bytes = 0;
            unsigned pieces = 1;  // ranges of keys united side by side (Segment::UniteMany)
            std::vector<Segment> hours;
            Segment day;
        };
        std::vector<std::unique_ptr<HourReader>> readers;  // the helpers' connections, when hours_committed
        for (const int64_t day : days) {
            // The day's (dimension, sensor) pairs by encoded size, largest first, then read and united in
            // batches of at most day_build_batch_bytes_ of hours (but always `threads` pairs, so that the
            // largest ones still run side by side): reading every hour of a day at once made the day's
            // build the peak of a one-day ingest's memory (124 MB of hours and 65 MB of days for the 10M
            // benchmark capture, on top of what ingest holds).
            std::vector<Task> tasks;
            {
                // length() of a blob reads its size, not its pages; but summed with GROUP BY, SQLite's sorter
                // copied every blob (0.12 s of the 10M benchmark's build), so the sums are taken here.
                Statement &sizes = Cached(
                    "SELECT sensor_id, length(segment) FROM counters_hourly WHERE dim=? AND period BETWEEN ? AND ?");
                for (int64_t dim = 0; dim < DIMENSION_NUMBERS; ++dim) {
                    sizes.Bind(1, dim).Bind(2, day * 24).Bind(3, day * 24 + 23);
                    std::map<int64_t, size_t> by_sensor;
                    while (sizes.Step())
                        by_sensor[sizes.Int(0)] += size_t(sizes.Int(1));
                    for (const auto &[sensor_id, bytes] : by_sensor) {
                        Task &t = tasks.emplace_back();
                        t.dim = dim;
                        t.sensor_id = sensor_id;
                        t.bytes = bytes;
                    }
                    sizes.Reset();
                }
            }
            std::stable_sort(tasks.begin(), tasks.end(),
                             [](const Task &a, const Task &b) { return a.bytes > b.bytes; });
            // A pair heavier than a thread's share of the day is united in pieces, one per share it weighs: alone,
            // it ended the build (a telescope's services: half the 10M benchmark's hours, 0.19 s of a 0.25 s
            // build, the other thread idle for the last part of it).
            if (threads > 1) {
                size_t day_bytes = 0;
                for (const Task &t : tasks)
                    day_bytes += t.bytes;
                for (Task &t : tasks)
                    t.pieces = unsigned(std::clamp<uint64_t>(
                        (uint64_t(t.bytes) * threads + day_bytes - 1) / std::max<size_t>(day_bytes, 1), 1, threads));
            }

            // Rows of a day that its hours no longer hold (none are ever removed) would outlive a rebuild:
            // the day is written afresh.
            Statement clear(db_, "DELETE FROM counters_daily WHERE period = ?");
            clear.Bind(1, day).Run();
            Statement clear_heads(db_, "DELETE FROM counters_daily_heads WHERE period = ?");
            clear_heads.Bind(1, day).Run();
            for (size_t from = 0; from < tasks.size();) {
                // With more than one thread, `uniters` threads unite the batch's pairs (reading their hours too, each
                // on a connection of its own, when they are committed) while this one writes each day row as it is
                // done.
                const unsigned most_uniters =
                    threads > 1 ? unsigned(std::min<size_t>(threads, tasks.size() - from)) : 0;
                try {
                    while (hours_committed && readers.size() < most_uniters)
                        readers.push_back(std::make_unique<HourReader>(path_));
                } catch (const StoreError &) {
                    // A store no second connection reaches (an in-memory one, say): its hours are read here.
                    readers.clear();
                    hours_committed = false;
                }
                // Threads that read their own pair's hours hold at most one pair's each: the rest of the day is then
                // one batch, and no thread waits at a batch's end for another's largest pair (a tenth of the 10M
                // benchmark's build).
                const bool each_reads_its_own = hours_committed && most_uniters > 0;
                size_t to = from, bytes = 0;
                while (to < tasks.size() &&
                       (each_reads_its_own || to - from < threads || bytes + tasks[to].bytes <= day_build_batch_bytes_))
                    bytes += tasks[to++].bytes;
                const size_t n = to - from;
                const unsigned uniters = threads > 1 ? unsigned(std::min<size_t>(threads, n)) : 0;
                if (!hours_committed)
                    for (size_t i = from; i < to; ++i)
                        tasks[i].hours = HoursOfDay(tasks[i].dim, tasks[i].sensor_id, day);
                // `reader`: a uniting thread's connection; null on this thread.
                auto build = [&](Task &t, HourReader *reader) {
                    if (hours_committed)
                        t.hours = reader ? ReadHoursOfDay(*reader->hours, path_, own_hours_, t.dim, t.sensor_id, day)
                                         : HoursOfDay(t.dim, t.sensor_id, day);
                    t.day = Segment::UniteMany(std::move(t.hours), t.pieces);
                };
                auto write = [&](Task &t) {
                    put.Bind(1, t.dim).Bind(2, day).Bind(3, t.sensor_id).Bind(4, int64_t(t.day.Size()));
                    put.Bind(5, int64_t(t.day.Packets())).Bind(6, int64_t(t.day.Bytes()));
                    const std::string blob = t.day.TakeEncoding();
                    put.BindBlobUncopied(7, blob);
                    put.Run();
                    put.Unbind(7);
                    PutDailyHeads(t.dim, day, t.sensor_id, blob);
                    t.day = Segment();
                };
                if (uniters == 0) {
                    for (size_t i = from; i < to; ++i) {
                        build(tasks[i], nullptr);
                        write(tasks[i]);
                    }
                    from = to;
                    continue;
                }
                std::atomic<size_t> next{from};
                std::mutex mutex;
                std::condition_variable built;
                std::vector<size_t> ready;  // built, not written yet
                std::exception_ptr error;
                auto unite = [&](HourReader *reader) {
                    for (size_t i; (i = next.fetch_add(1)) < to;) {
                        try {
                            build(tasks[i], reader);
                        } catch (...) {
                            std::lock_guard lock(mutex);
                            if (!error) error = std::current_exception();
                            next = to;
                            built.notify_all();
                            return;
                        }
                        std::lock_guard lock(mutex);
                        ready.push_back(i);
                        built.notify_all();
                    }
                };
                std::vector<std::thread> uniting;
                for (unsigned u = 0; u < uniters; ++u)
                    uniting.emplace_back(unite, hours_committed ? readers[u].get() : nullptr);
                std::exception_ptr write_error;
                for (size_t written = 0; written < n;) {
                    std::vector<size_t> batch;
                    {
                        std::unique_lock lock(mutex);
                        built.wait(lock, [&] { return !ready.empty() || error; });
                        if (error) break;
                        batch.swap(ready);
                    }
                    try {
                        for (size_t i : batch) {
                            write(tasks[i]);
                            ++written;
                        }
                    } catch (...) {
                        write_error = std::current_exception();
                        next = to;  // the uniting threads stop after the pair they hold
                        break;
                    }
                }
                for (std::thread &u : uniting)
                    u.join();
                if (error) std::rethrow_exception(error);
                if (write_error) std::rethrow_exception(write_error);
                from = to;
            }
            // Parts of a schema-4 store's day are in its hours too.
            Statement parts(db_, "DELETE FROM counters_daily_parts WHERE period = ?");
            parts.Bind(1, day).Run();
            Statement done(db_, "DELETE FROM days_pending WHERE day = ?");
            done.Bind(1, day).Run();
            std::erase_if(own_hours_, [&](const auto &own) { return FloorDiv(own.first.period, 24) == day; });
        }
    }

    void FoldDayParts(unsigned threads) override {
        Statement pending(db_, "SELECT 1 FROM days_pending LIMIT 1");
        const bool days = pending.Step();
        pending.Reset();
        Statement chunk_keys_q(db_, "SELECT DISTINCT day, bucket FROM source_daily_parts");
        std::vector<std::pair<int64_t, int64_t>> chunk_keys;
        while (chunk_keys_q.Step())
            chunk_keys.emplace_back(chunk_keys_q.Int(0), chunk_keys_q.Int(1));
        if (!days && chunk_keys.empty()) return;
        Begin();
        try {
            BuildDaysFrom(INT64_MAX, threads, true);
            for (const auto &k : chunk_keys) {
                const int64_t day = k.first, bucket = k.second;
                std::vector<SourceDay> records;
                auto read = [&](const char *sql) {
                    Statement q(db_, sql);
                    q.Bind(1, day).Bind(2, bucket);
                    while (q.Step()) {
                        auto more = DecodeSourceChunk(q.Blob(0));
                        if (!more)
                            throw StoreError(fmt::format("{}: source_daily chunk (day {}, bucket {}) is corrupt", path_,
                                                         day, bucket));
                        records = MergeSourceChunks(std::move(records), std::move(*more));
                    }
                };
                read("SELECT chunk FROM source_daily WHERE day=? AND bucket=?");
                read("SELECT chunk FROM source_daily_parts WHERE day=? AND bucket=? ORDER BY part");
                const std::string blob = EncodeSourceChunk(records);
                Statement put(db_, "INSERT OR REPLACE INTO source_daily(day, bucket, sources, chunk) VALUES(?,?,?,?)");
                put.Bind(1, day).Bind(2, bucket).Bind(3, int64_t(records.size())).BindBlob(4, blob);
                put.Run();
                Statement del(db_, "DELETE FROM source_daily_parts WHERE day=? AND bucket=?");
                del.Bind(1, day).Bind(2, bucket);
                del.Run();
            }
            Commit();
        } catch (...) {
            Rollback();
            throw;
        }
    }

    void ScanCounters(Granularity g, Dimension dim, int64_t from, int64_t to,
                      const std::function<void(const CounterRecord &)> &f) override {
        auto emit = [&](int64_t period, int64_t sensor_id, const Segment &segment) {
            CounterRecord r;
            r.period = period;
            r.sensor_id = sensor_id;
            for (const SegmentRowView row : segment.Rows()) {
                r.key = row.key;
                r.packets = row.packets;
                r.bytes = row.bytes;
                r.unique_sources = row.UniqueSources();
                r.sources_v4 = row.v4;
                r.sources_v6 = row.v6;
                f(r);
            }
        };
        ScanSegments(
            g, dim, from, to,
            [&](int64_t period, int64_t sensor_id, std::string_view blob) {
                auto segment = Segment::Decode(blob);
                if (!segment) return false;
                emit(period, sensor_id, *segment);
                return true;
            },
            emit);
    }

    void ScanCounts(Granularity g, Dimension dim, int64_t from, int64_t to,
                    const std::function<void(const CounterRecord &)> &f) override {
        ScanCountsOf(g, dim, from, to, std::nullopt, f);
    }
    void ScanSensorCounts(Granularity g, Dimension dim, int64_t from, int64_t to, int64_t sensor_id,
                          const std::function<void(const CounterRecord &)> &f) override {
        ScanCountsOf(g, dim, from, to, sensor_id, f);
    }
    void ScanCountsOf(Granularity g, Dimension dim, int64_t from, int64_t to, std::optional<int64_t> sensor,
                      const std::function<void(const CounterRecord &)> &f) {
        CounterRecord r;
        auto emit = [&](const Segment::RowCounts &row) {
            r.key = row.key;
            r.packets = row.packets;
            r.bytes = row.bytes;
            r.unique_sources = row.unique_sources;
            f(r);
        };
        // Days read their heads (schema 8; every write of a daily row writes its heads), or the rows themselves
        // in an older store opened read-only (not migrated).
        const bool heads = g == Granularity::DAY && SchemaVersion() >= 8;
        ScanSegments(
            g, dim, from, to,
            [&](int64_t period, int64_t sensor_id, std::string_view blob) {
                r.period = period;
                r.sensor_id = sensor_id;
                return heads ? Segment::ScanHeads(blob, emit) : Segment::ScanCounts(blob, emit);
            },
            // A marked day is united from its hours, sources and all (rare: an ingest running or
            // interrupted).
            [&](int64_t day, int64_t sensor_id, const Segment &segment) {
                r.period = day;
                r.sensor_id = sensor_id;
                for (const SegmentRowView row : segment.Rows())
                    emit({row.key, row.packets, row.bytes, row.UniqueSources()});
            },
            sensor, heads);
    }

    std::optional<std::pair<int64_t, int64_t>> DayRange() override {
        Statement s(db_,
                    "SELECT min(d), max(d) FROM (SELECT min(period) AS d FROM counters_daily WHERE dim = 0 UNION "
                    "ALL SELECT max(period) FROM counters_daily WHERE dim = 0 UNION ALL SELECT day FROM days_pending)");
        if (!s.Step() || s.IsNull(0)) return std::nullopt;
        return std::make_pair(s.Int(0), s.Int(1));
    }

    void ScanSources(int64_t from_day, int64_t to_day, const std::function<void(const SourceRecord &)> &f) override {
        // (day, bucket, chunk) rows of `table`, decoded.
        auto decode = [&](Statement &q, const char *table) {
            auto records = DecodeSourceChunk(q.Blob(2));
            if (!records)
                throw StoreError(
                    fmt::format("{}: {} chunk (day {}, bucket {}) is corrupt", path_, table, q.Int(0), q.Int(1)));
            return std::move(*records);
        };
        // Parts of days not folded yet (see ScanCounters).
        std::map<std::pair<int64_t, int64_t>, std::vector<SourceDay>> parts;
        {
            Statement q(db_,
                        "SELECT day, bucket, chunk FROM source_daily_parts WHERE day BETWEEN ? AND ? ORDER BY part");
            q.Bind(1, from_day).Bind(2, to_day);
            while (q.Step()) {
                auto &to = parts[{q.Int(0), q.Int(1)}];
                to = MergeSourceChunks(std::move(to), decode(q, "source_daily_parts"));
            }
        }
        auto emit = [&](int64_t day, const std::vector<SourceDay> &records) {
            SourceRecord r;
            r.day = day;
            for (const SourceDay &d : records) {
                r.record = &d;
                f(r);
            }
        };
        Statement s(db_, "SELECT day, bucket, chunk FROM source_daily WHERE day BETWEEN ? AND ? ORDER BY day, bucket");
        s.Bind(1, from_day).Bind(2, to_day);
        while (s.Step()) {
            std::vector<SourceDay> records = decode(s, "source_daily");
            if (auto it = parts.find({s.Int(0), s.Int(1)}); it != parts.end()) {
                records = MergeSourceChunks(std::move(records), std::move(it->second));
                parts.erase(it);
            }
            emit(s.Int(0), records);
        }
        for (auto &[key, records] : parts)
            emit(key.first, records);
    }

    void ScanSourceBuckets(int64_t day, std::span<const uint16_t> buckets,
                           const std::function<void(const SourceRecord &)> &f) override {
        std::vector<uint16_t> wanted(buckets.begin(), buckets.end());
        std::sort(wanted.begin(), wanted.end());
        wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
        // Statements of this call rather than Cached ones: f may throw, which would leave a cached one mid-step.
        Statement whole(db_, "SELECT chunk FROM source_daily WHERE day = ? AND bucket = ?");
        Statement parts(db_, "SELECT chunk FROM source_daily_parts WHERE day = ? AND bucket = ? ORDER BY part");
        SourceRecord r;
        r.day = day;
        for (const uint16_t bucket : wanted) {
            // The bucket's chunk united with its parts not folded yet, as ScanSources reads them.
            std::vector<SourceDay> records;
            for (auto [q, table] : {std::pair{&whole, "source_daily"}, std::pair{&parts, "source_daily_parts"}}) {
                q->Bind(1, day).Bind(2, int64_t(bucket));
                while (q->Step()) {
                    auto more = DecodeSourceChunk(q->Blob(0));
                    if (!more)
                        throw StoreError(
                            fmt::format("{}: {} chunk (day {}, bucket {}) is corrupt", path_, table, day, bucket));
                    records = MergeSourceChunks(std::move(records), std::move(*more));
                }
                q->Reset();
            }
            for (const SourceDay &d : records) {
                r.record = &d;
                f(r);
            }
        }
    }

    void ScanEvents(int64_t from_day, int64_t to_day,
                    const std::function<void(int64_t, std::string_view, uint64_t)> &f) override {
        Statement s(db_,
                    "SELECT sensor_id, event, sum(count) FROM decode_events WHERE hour BETWEEN ? AND ? "
                    "GROUP BY sensor_id, event ORDER BY event");
        s.Bind(1, from_day * 24).Bind(2, to_day * 24 + 23);
        while (s.Step())
            f(s.Int(0), s.Text(1), uint64_t(s.Int(2)));
    }

    SourceSet Destinations(int64_t sensor_id, int64_t from_day, int64_t to_day) override {
        SourceSet out;
        Statement s(db_, "SELECT v4, v6 FROM sensor_destinations WHERE sensor_id = ? AND day BETWEEN ? AND ?");
        s.Bind(1, sensor_id).Bind(2, from_day).Bind(3, to_day);
        while (s.Step())
            if (!out.MergeSerialized(s.Blob(0), s.Blob(1)))
                throw StoreError(fmt::format("{}: sensor_destinations row is corrupt", path_));
        return out;
    }

private:
    // The stored segments of `dim` over [from, to], each handed to `stored` as its encoding (false: corrupt);
    // days whose daily rows are not built yet (an ingest still running, or interrupted) are united from their
    // hours and handed to `from_hours` instead, of `sensor` only when given. With `heads`, days hand their
    // heads (counters_daily_heads) instead of their encodings: the heads table alone, since a query that also
    // touches counters_daily reads its rows' overflow pages (0.6 s a quarter for one dimension).
    void ScanSegments(Granularity g, Dimension dim, int64_t from, int64_t to,
                      const std::function<bool(int64_t period, int64_t sensor_id, std::string_view blob)> &stored,
                      const std::function<void(int64_t day, int64_t sensor_id, const Segment &)> &from_hours,
                      std::optional<int64_t> sensor = std::nullopt, bool heads = false) {
        const std::set<int64_t> pending = g == Granularity::DAY ? PendingDays(from, to) : std::set<int64_t>();
        const char *what = g == Granularity::HOUR ? "segment FROM counters_hourly"
                           : heads                ? "heads FROM counters_daily_heads"
                                                  : "segment FROM counters_daily";
        Statement s(
            db_,
            fmt::format(
                "SELECT period, sensor_id, {} WHERE dim = ? AND period BETWEEN ? AND ?{} ORDER BY period, sensor_id",
                what, sensor ? " AND sensor_id = ?" : "")
                .c_str());
        s.Bind(1, int64_t(dim)).Bind(2, from).Bind(3, to);
        if (sensor) s.Bind(4, *sensor);
        while (s.Step()) {
            if (pending.count(s.Int(0))) continue;
            if (!stored(s.Int(0), s.Int(1), s.Blob(2)))
                throw StoreError(fmt::format("{}: {} (dim {}, period {}, sensor {}) is corrupt", path_,
                                             heads ? "daily heads" : "segment", int(dim), s.Int(0), s.Int(1)));
        }
        for (const int64_t day : pending)
            for (auto &[sensor_id, segment] : DayFromHours(int64_t(dim), day))
                if (!sensor || sensor_id == *sensor) from_hours(day, sensor_id, segment);
    }
    // Days in [from, to] whose daily rows wait to be built from their hours.
    std::set<int64_t> PendingDays(int64_t from, int64_t to) {
        std::set<int64_t> pending;
        Statement q(db_, "SELECT day FROM days_pending WHERE day BETWEEN ? AND ?");
        q.Bind(1, from).Bind(2, to);
        while (q.Step())
            pending.insert(q.Int(0));
        return pending;
    }

    void Exec(const std::string &sql) {
        char *err = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err ? err : "unknown error";
            sqlite3_free(err);
            throw StoreError(fmt::format("{}: {}", path_, msg));
        }
    }

    // Schema 10's second half: each table's rows into its `_v10` table (migration 9 -> 10), which then takes
    // its name. A few rows at a time, each batch deleted once copied, so that the copies reuse the pages the
    // old rows free: copied whole and then dropped, a quarter's store grew by its largest table (7.5 GB to
    // 13.7 GB) and kept that size.
    void MoveToRowidTables() {
        static constexpr std::pair<const char *, const char *> TABLES[] = {
            {"counters_hourly", "dim, period, sensor_id"},
            {"counters_daily", "dim, period, sensor_id"},
            {"counters_daily_heads", "dim, period, sensor_id"},
            {"counters_daily_parts", "dim, period, sensor_id, part"},
            {"source_daily", "day, bucket"},
            {"source_daily_parts", "day, bucket, part"},
            {"sensor_destinations", "sensor_id, day"},
        };
        // A daily segment can be tens of megabytes: the rows of a batch bound what the file grows by.
        constexpr int BATCH = 16;
        for (const auto &[table, key] : TABLES) {
            const std::string first_rows = fmt::format("FROM {} ORDER BY {} LIMIT {}", table, key, BATCH);
            Statement copy(db_, fmt::format("INSERT INTO {}_v10 SELECT * {}", table, first_rows));
            Statement remove(db_,
                             fmt::format("DELETE FROM {} WHERE ({}) IN (SELECT {} {})", table, key, key, first_rows));
            for (;;) {
                copy.Run();
                if (sqlite3_changes64(db_) == 0) break;
                remove.Run();
            }
            Exec(fmt::format("DROP TABLE {0}; ALTER TABLE {0}_v10 RENAME TO {0};", table));
        }
    }

    void Migrate() {
        int version = SchemaVersion();
        if (version > SCHEMA_VERSION)
            throw StoreError(
                fmt::format("{}: store schema version {} is newer than this darkscope understands ({}); "
                            "use a newer darkscope",
                            path_, version, SCHEMA_VERSION));
        if (version == SCHEMA_VERSION) return;
        Exec("BEGIN IMMEDIATE");
        try {
            for (int v = version; v < SCHEMA_VERSION; ++v) {
                Exec(MIGRATIONS[v]);
                if (v == 9) MoveToRowidTables();
            }
            if (version < 8) FillDailyHeads();
            Exec(fmt::format("PRAGMA user_version = {}", SCHEMA_VERSION));
            Exec(fmt::format("INSERT OR REPLACE INTO meta(key, value) VALUES('darkscope_version', '{}')",
                             DARKSCOPE_VERSION));
            Exec("COMMIT");
        } catch (...) {
            migration_error_ = sqlite3_errcode(db_);  // before the rollback sets its own
            // A COMMIT that could not write has rolled back already; a second rollback's complaint ("no
            // transaction is active") replaced the reason.
            if (!sqlite3_get_autocommit(db_)) Exec("ROLLBACK");
            throw;
        }
    }
    // Whether an error opening or migrating the store may mean that --store names some other file: not when
    // SQLite could not write, lock or allocate (a full disk, a busy or read-only store), nor for darkscope's
    // own refusals (a newer schema), which say what to do.
    static bool MayNotBeAStore(int sqlite_code) {
        switch (sqlite_code & 0xFF) {
            case SQLITE_OK:
            case SQLITE_ROW:
            case SQLITE_DONE:
            case SQLITE_FULL:
            case SQLITE_IOERR:
            case SQLITE_BUSY:
            case SQLITE_LOCKED:
            case SQLITE_READONLY:
            case SQLITE_CANTOPEN:
            case SQLITE_NOMEM:
            case SQLITE_PERM:
            case SQLITE_INTERRUPT:
                return false;
            default:
                return true;
        }
    }
    int migration_error_ = SQLITE_OK;  // the SQLite error that stopped a migration, if one did

    std::vector<FileRecord> QueryFiles(const std::string &where, const std::string &arg) {
        Statement s(db_, ("SELECT content_hash, path, size, format, compression, packets, bytes, first_ts, last_ts, "
                          "status, message, ingested_at, enrichment FROM files " +
                          where)
                             .c_str());
        if (!arg.empty()) s.Bind(1, arg);
        std::vector<FileRecord> out;
        while (s.Step()) {
            FileRecord f;
            f.content_hash = s.Text(0);
            f.path = s.Text(1);
            f.size = uint64_t(s.Int(2));
            f.format = s.Text(3);
            f.compression = s.Text(4);
            f.packets = uint64_t(s.Int(5));
            f.bytes = uint64_t(s.Int(6));
            f.first_ts = s.Int(7);
            f.last_ts = s.Int(8);
            f.status = s.Text(9);
            f.message = s.Text(10);
            f.ingested_at = s.Text(11);
            f.enrichment = s.Text(12);
            out.push_back(std::move(f));
        }
        return out;
    }

    Statement &Cached(const std::string &sql) {
        for (auto &[text, stmt] : statements_)
            if (text == sql) return *stmt;
        statements_.emplace_back(sql, std::make_unique<Statement>(db_, sql.c_str()));
        return *statements_.back().second;
    }

    std::string path_;
    sqlite3 *db_ = nullptr;
    std::vector<std::pair<std::string, std::unique_ptr<Statement>>> statements_;
    std::unique_ptr<Checkpointer> checkpointer_;  // while CheckpointBehind is on
};

}  // namespace

std::unique_ptr<Store> Store::OpenSqlite(const std::string &path) { return std::make_unique<SqliteStore>(path, false); }
std::unique_ptr<Store> Store::OpenSqliteReadOnly(const std::string &path) {
    return std::make_unique<SqliteStore>(path, true);
}

}  // namespace darkscope
