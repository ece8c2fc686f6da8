#pragma once
/// A store for the summary tests: a fresh file in the temporary directory with one sensor, s1
/// (198.51.100.0/24, 256 addresses), removed again when the test is done with it. ctest runs each
/// test in its own process, several at once, so the file name carries the process id: tests that
/// share a fixture never open one another's file.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace darkscope::testing {

class SummaryTestStore {
public:
    explicit SummaryTestStore(const std::string &file_name) : SummaryTestStore(file_name, {Sensor24("s1", "198.51.100.0/24")}) {}
    /// With these sensors instead of s1.
    SummaryTestStore(const std::string &file_name, const std::vector<Sensor> &sensors)
        : path_(std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-" + file_name)) {
        Remove();
        store = Store::OpenSqlite(path_.string());
        ids = store->SaveSensors(sensors);
        unattributed = store->UnattributedSensorId();
    }
    /// A sensor of one /24.
    static Sensor Sensor24(const std::string &name, const std::string &network) {
        Sensor s;
        s.name = name;
        s.networks = {*IpNetwork::Parse(network)};
        s.addresses = 256;
        return s;
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
