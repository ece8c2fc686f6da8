#pragma once
// Servers the probe tests start for themselves on 127.0.0.x: a dnsmasq, a UDP responder that answers as the
// test says, a TCP listener that sends a banner. Probes in these tests go to them and nowhere else.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace darkscope::probe::test {

// Addresses and a port of this process's own, so that tests running at once (ctest -j) do not meet.
inline std::string Loopback(int k) { return "127.0.0." + std::to_string(2 + (int(::getpid()) + k * 7) % 250); }
inline uint16_t TestPort(int k = 0) { return uint16_t(20000 + (int(::getpid()) * 3 + k) % 20000); }

inline sockaddr_in SockAddr(const std::string &address, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
    return sa;
}

// A dnsmasq answering only what the test gives it: no upstream (names it does not own get REFUSED), no
// /etc/hosts, no configuration file.
class LocalDnsmasq {
public:
    static constexpr const char *BINARY = "/usr/sbin/dnsmasq";
    static bool Available() { return std::filesystem::exists(BINARY); }

    LocalDnsmasq(const std::string &address, uint16_t port, const std::vector<std::string> &extra) {
        if (!Available()) return;
        std::vector<std::string> argv = {BINARY,
                                         "--keep-in-foreground",
                                         "--conf-file=/dev/null",
                                         "--no-resolv",
                                         "--no-hosts",
                                         "--no-poll",
                                         "--bind-interfaces",
                                         "--listen-address=" + address,
                                         "--port=" + std::to_string(port),
                                         "--pid-file",
                                         "--user=root"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            std::vector<char *> args;
            for (auto &a : argv)
                args.push_back(a.data());
            args.push_back(nullptr);
            ::execv(BINARY, args.data());
            ::_exit(127);
        }
    }
    ~LocalDnsmasq() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    bool Running() const { return pid_ > 0; }

private:
    pid_t pid_ = -1;
};

// A UDP server on address:port that hands each datagram to `answer` (with the count received so far) and sends
// back what it returns, if anything.
class UdpResponder {
public:
    using Answer = std::function<std::optional<std::vector<uint8_t>>(const std::vector<uint8_t> &query, int count)>;
    UdpResponder(const std::string &address, uint16_t port, Answer answer) : answer_(std::move(answer)) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        const sockaddr_in sa = SockAddr(address, port);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr *>(&sa), sizeof sa) != 0)
            throw std::runtime_error("cannot bind a UDP responder to " + address + ":" + std::to_string(port));
        thread_ = std::thread([this] { Loop(); });
    }
    ~UdpResponder() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    int Received() const { return received_; }

private:
    void Loop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            std::vector<uint8_t> buf(4096);
            sockaddr_in from{};
            socklen_t from_len = sizeof from;
            const ssize_t n =
                ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr *>(&from), &from_len);
            if (n <= 0) continue;
            buf.resize(size_t(n));
            const int count = ++received_;
            if (auto reply = answer_(buf, count))
                ::sendto(fd_, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr *>(&from), from_len);
        }
    }
    Answer answer_;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<int> received_{0};
    std::thread thread_;
};

// A TCP listener that sends `banner` on every connection and keeps it open until the client closes it (or
// five seconds pass), one thread per connection, as a real daemon would.
class BannerServer {
public:
    BannerServer(const std::string &address, uint16_t port, std::string banner) : banner_(std::move(banner)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        const int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        const sockaddr_in sa = SockAddr(address, port);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr *>(&sa), sizeof sa) != 0 || ::listen(fd_, 64) != 0)
            throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port));
        thread_ = std::thread([this] { Loop(); });
    }
    ~BannerServer() {
        stop_ = true;
        thread_.join();
        for (auto &t : connections_)
            t.join();
        ::close(fd_);
    }

private:
    void Loop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            connections_.emplace_back([this, c] {
                ::send(c, banner_.data(), banner_.size(), MSG_NOSIGNAL);
                char buf[512];
                for (int waited = 0; waited < 5000 && !stop_; waited += 50) {
                    pollfd q{c, POLLIN, 0};
                    if (::poll(&q, 1, 50) > 0 && ::recv(c, buf, sizeof buf, 0) <= 0) break;
                }
                ::close(c);
            });
        }
    }
    std::string banner_;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::vector<std::thread> connections_;
};

}  // namespace darkscope::probe::test
