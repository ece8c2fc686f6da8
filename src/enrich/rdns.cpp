#include "enrich/rdns.hpp"

#include <ares.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <thread>

namespace darkscope {
namespace {

struct Query {
    IpAddress address;
    const std::function<void(RdnsAnswer &&)> *on_answer;
    size_t *outstanding;
};

void OnHost(void *arg, int status, int /*timeouts*/, hostent *host) {
    std::unique_ptr<Query> q(static_cast<Query *>(arg));
    --*q->outstanding;
    RdnsAnswer a;
    a.address = q->address;
    if (status == ARES_SUCCESS && host && host->h_name) {
        a.name = host->h_name;
        a.status = "ok";
    } else if (status == ARES_ENOTFOUND) {
        a.status = "nxdomain";
    } else if (status == ARES_ENODATA) {
        a.status = "nodata";
    } else if (status == ARES_ETIMEOUT) {
        a.status = "timeout";
    } else if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        return;  // the channel is going away: no answer to report
    } else {
        a.status = fmt::format("error: {}", ares_strerror(status));
    }
    (*q->on_answer)(std::move(a));
}

// Runs c-ares until nothing it waits for is ready, waiting at most `max_wait`.
void Pump(ares_channel channel, std::chrono::milliseconds max_wait) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
    std::vector<pollfd> fds;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
        if (events) fds.push_back(pollfd{socks[i], events, 0});
    }
    timeval max_tv{long(max_wait.count() / 1000), long(max_wait.count() % 1000) * 1000}, tv{};
    timeval *t = ares_timeout(channel, &max_tv, &tv);
    const int wait_ms = int(t->tv_sec * 1000 + t->tv_usec / 1000);
    const int n = ::poll(fds.data(), nfds_t(fds.size()), std::max(0, wait_ms));
    if (n <= 0) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        return;
    }
    for (const pollfd &p : fds)
        ares_process_fd(channel, (p.revents & (POLLIN | POLLERR | POLLHUP)) ? p.fd : ARES_SOCKET_BAD,
                        (p.revents & POLLOUT) ? p.fd : ARES_SOCKET_BAD);
}

}  // namespace

void ResolvePtr(const std::vector<IpAddress> &addresses, const RdnsOptions &options,
                const std::function<void(RdnsAnswer &&)> &on_answer) {
    if (options.rate <= 0) throw std::runtime_error("--rate must be above 0");
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) throw std::runtime_error("c-ares: cannot initialise");
    ares_options opts{};
    char lookups[] = "b";  // DNS only: never /etc/hosts
    opts.lookups = lookups;
    opts.timeout = options.timeout_ms;
    opts.tries = options.tries;
    ares_channel channel = nullptr;
    int rc = ares_init_options(&channel, &opts, ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        ares_library_cleanup();
        throw std::runtime_error(fmt::format("c-ares: {}", ares_strerror(rc)));
    }
    struct Cleanup {
        ares_channel c;
        ~Cleanup() {
            ares_destroy(c);
            ares_library_cleanup();
        }
    } cleanup{channel};
    if (!options.resolver.empty()) {
        rc = ares_set_servers_ports_csv(channel, options.resolver.c_str());
        if (rc != ARES_SUCCESS)
            throw std::runtime_error(fmt::format("--resolver {}: {}", options.resolver, ares_strerror(rc)));
    }
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto interval = std::chrono::duration<double>(1.0 / options.rate);
    size_t next = 0, outstanding = 0;
    while (next < addresses.size() || outstanding > 0) {
        // Start what the rate and the concurrency allow: query i may start at start + i / rate.
        while (next < addresses.size() && outstanding < std::max(1u, options.concurrency) &&
               Clock::now() >= start + std::chrono::duration_cast<Clock::duration>(interval * double(next))) {
            const IpAddress &a = addresses[next++];
            auto *q = new Query{a, &on_answer, &outstanding};
            ++outstanding;
            if (a.IsV4()) ares_gethostbyaddr(channel, a.bytes.data(), 4, AF_INET, OnHost, q);
            else ares_gethostbyaddr(channel, a.bytes.data(), 16, AF_INET6, OnHost, q);
        }
        auto wait = std::chrono::milliseconds(100);
        if (next < addresses.size() && outstanding < options.concurrency) {
            const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * double(next));
            wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()),
                              std::chrono::milliseconds(0), wait);
        }
        if (outstanding > 0) Pump(channel, wait);
        else std::this_thread::sleep_for(wait);
    }
}

}  // namespace darkscope
