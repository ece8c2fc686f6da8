#pragma once
/// A store for the summary tests: a fresh file in the temporary directory with one sensor, s1
/// (198.51.100.0/24, 256 addresses), removed again when the test is done with it.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace darkscope::testing {

class SummaryTestStore {
public:
    explicit SummaryTestStore(const std::string &file_name)
        : path_(std::filesystem::temp_directory_path() / file_name) {
        Remove();
        store = Store::OpenSqlite(path_.string());
        Sensor s;
        s.name = "s1";
        s.networks = {*IpNetwork::Parse("198.51.100.0/24")};
        s.addresses = 256;
        ids = store->SaveSensors({s});
        unattributed = store->UnattributedSensorId();
    }
    ~SummaryTestStore() {
        store.reset();
        Remove();
    }
    SummaryTestStore(const SummaryTestStore &) = delete;
    SummaryTestStore &operator=(const SummaryTestStore &) = delete;

    std::unique_ptr<Store> store;
    std::vector<int64_t> ids;
    int64_t unattributed = 0;

private:
    void Remove() const {
        for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
    }
    std::filesystem::path path_;
};

}  // namespace darkscope::testing
