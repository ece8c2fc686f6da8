// The DNS message parser on hand-written messages (well-formed, cut and hostile), and on the real DNS
// captures of ../shared/data against tshark's dissection of the same frames.

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>

#include "classify/classifier.hpp"
#include "common/shared_data.hpp"
#include "decode/decoder.hpp"
#include "decode/dns.hpp"
#include "pcap_test_util.hpp"

namespace darkscope {
namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

void Put16(Bytes &b, uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}
void Put32(Bytes &b, uint32_t v) {
    Put16(b, uint16_t(v >> 16));
    Put16(b, uint16_t(v));
}
Bytes Header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
    Bytes b;
    for (uint16_t v : {id, flags, qd, an, ns, ar}) Put16(b, v);
    return b;
}
// "www.example.com" as labels, ending with the root.
void PutName(Bytes &b, const std::vector<std::string> &labels) {
    for (const std::string &l : labels) {
        b.push_back(uint8_t(l.size()));
        b.insert(b.end(), l.begin(), l.end());
    }
    b.push_back(0);
}
void PutPointer(Bytes &b, uint16_t offset) { Put16(b, uint16_t(0xC000 | offset)); }
// A question's or record's type and class (A, IN unless given).
void PutTypeClass(Bytes &b, uint16_t type = 1, uint16_t cls = 1) {
    Put16(b, type);
    Put16(b, cls);
}
// An EDNS0 OPT record without options: root name, type 41, the UDP size in the class, and the TTL field's
// extended rcode (bits 24-31), version (16-23) and DO bit (15).
void PutOpt(Bytes &b, uint16_t udp_size, uint32_t ttl) {
    b.push_back(0);
    PutTypeClass(b, 41, udp_size);
    Put32(b, ttl);
    Put16(b, 0);
}

DnsMessage Parse(const Bytes &b, bool expect_dns = true) {
    DnsMessage m;
    EXPECT_EQ(ParseDns(b.data(), uint32_t(b.size()), m), expect_dns);
    return m;
}

TEST(Dns, QueryWithEdnsAndTheDoBit) {
    Bytes b = Header(0xBEEF, 0x0100, 1, 0, 0, 1);  // RD
    PutName(b, {"www", "example", "com"});
    PutTypeClass(b, 16);  // TXT, IN
    PutOpt(b, 4096, 0x00008000);  // ext-rcode 0, version 0, DO
    const DnsMessage m = Parse(b);
    EXPECT_EQ(m.error, DnsError::NONE);
    EXPECT_EQ(m.id, 0xBEEF);
    EXPECT_FALSE(m.qr);
    EXPECT_TRUE(m.rd);
    EXPECT_FALSE(m.ra);
    ASSERT_TRUE(m.has_question);
    EXPECT_EQ(m.qname, "www.example.com");
    EXPECT_EQ(m.qtype, 16);
    EXPECT_EQ(m.qclass, 1);
    EXPECT_TRUE(m.edns);
    EXPECT_EQ(m.edns_udp_size, 4096);
    EXPECT_TRUE(m.dnssec_ok);
    EXPECT_EQ(m.size, b.size());
}

TEST(Dns, ResponseWithCompressedAnswersAndAnExtendedRcode) {
    Bytes b = Header(7, 0x8180 | 0x0005, 1, 2, 0, 1);  // QR RD RA, rcode 5 (REFUSED)
    PutName(b, {"a", "example", "org"});
    PutTypeClass(b);
    for (int i = 0; i < 2; ++i) {  // two A records named by a pointer to the question
        PutPointer(b, 12);
        PutTypeClass(b);
        Put32(b, 300);
        Put16(b, 4);
        b.insert(b.end(), {192, 0, 2, uint8_t(i)});
    }
    PutOpt(b, 1232, 0x01000000);  // extended rcode 1: the whole rcode is 1 << 4 | 5
    const DnsMessage m = Parse(b);
    EXPECT_EQ(m.error, DnsError::NONE);
    EXPECT_TRUE(m.qr);
    EXPECT_TRUE(m.ra);
    EXPECT_EQ(m.ancount, 2);
    EXPECT_EQ(m.qname, "a.example.org");
    EXPECT_EQ(m.rcode, 1 << 4 | 5);
    EXPECT_FALSE(m.dnssec_ok);
    EXPECT_EQ(m.edns_udp_size, 1232);
}

TEST(Dns, NamesAreEscapedAsDigWritesThem) {
    Bytes b = Header(1, 0, 1);
    b.push_back(8);
    b.insert(b.end(), {'<', 's', '>', '.', '\\', ' ', 0x00, 0xE9});
    PutName(b, {"com"});
    PutTypeClass(b);
    const DnsMessage m = Parse(b);
    EXPECT_EQ(m.qname, "<s>\\.\\\\\\032\\000\\233.com");
    for (char c : m.qname) EXPECT_TRUE(c > 0x20 && c < 0x7F) << int(c);
}

TEST(Dns, RootName) {
    Bytes b = Header(1, 0, 1);
    b.push_back(0);
    PutTypeClass(b, 2);  // NS
    EXPECT_EQ(Parse(b).qname, ".");
}

TEST(Dns, NotDnsAtAll) {
    EXPECT_EQ(Parse(Bytes(11, 0), false).error, DnsError::NOT_DNS);         // short
    EXPECT_EQ(Parse(Header(1, 0, 0), false).error, DnsError::NOT_DNS);      // a query without a question
    EXPECT_EQ(Parse(Header(1, 0x1800, 1), false).error, DnsError::NOT_DNS);  // opcode 3 is unassigned
    EXPECT_EQ(Parse(Header(1, 0, 17), false).error, DnsError::NOT_DNS);     // 17 questions
    // A response without a question is DNS (some servers answer so).
    EXPECT_EQ(Parse(Header(1, 0x8000, 0)).error, DnsError::NONE);
}

TEST(Dns, PointerLoopsAndForwardPointersStopTheParse) {
    Bytes self = Header(1, 0, 1);
    PutPointer(self, 12);  // points at itself
    PutTypeClass(self);
    EXPECT_EQ(Parse(self).error, DnsError::BAD_POINTER);

    Bytes loop = Header(1, 0, 1);
    loop.push_back(1);
    loop.push_back('a');
    PutPointer(loop, 12);  // "a" then back to "a": a loop through a pointer behind itself
    PutTypeClass(loop);
    const DnsMessage m = Parse(loop);
    EXPECT_EQ(m.error, DnsError::BAD_POINTER);
    EXPECT_FALSE(m.has_question);
    EXPECT_TRUE(m.qname.empty());

    Bytes forward = Header(1, 0, 1);
    PutPointer(forward, 20);  // ahead of the question
    PutTypeClass(forward);
    PutName(forward, {"x"});
    EXPECT_EQ(Parse(forward).error, DnsError::BAD_POINTER);
}

TEST(Dns, LongAndCutNames) {
    Bytes long_name = Header(1, 0, 1);
    PutName(long_name, std::vector<std::string>(5, std::string(63, 'a')));  // 5 x 64 + 1 > 255
    PutTypeClass(long_name);
    EXPECT_EQ(Parse(long_name).error, DnsError::NAME_TOO_LONG);

    Bytes just = Header(1, 0, 1);  // 3 x 64 + 62 + 1 = 255: the longest allowed
    PutName(just, {std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'), std::string(61, 'd')});
    PutTypeClass(just);
    EXPECT_EQ(Parse(just).error, DnsError::NONE);

    Bytes cut = Header(1, 0, 1);
    cut.push_back(10);
    cut.push_back('a');
    EXPECT_EQ(Parse(cut).error, DnsError::NAME_TRUNCATED);

    Bytes label_type = Header(1, 0, 1);
    label_type.push_back(0x41);  // 01xxxxxx: an extended label type
    EXPECT_EQ(Parse(label_type).error, DnsError::LABEL_TYPE);

    Bytes no_type = Header(1, 0, 1);
    PutName(no_type, {"a"});
    Put16(no_type, 1);  // qclass missing
    const DnsMessage m = Parse(no_type);
    EXPECT_EQ(m.error, DnsError::QUESTION_TRUNCATED);
    EXPECT_FALSE(m.has_question);
}

TEST(Dns, CutRecordsKeepTheQuestion) {
    Bytes b = Header(9, 0x8180, 1, 1);
    PutName(b, {"example", "net"});
    PutTypeClass(b, 255);  // ANY
    PutPointer(b, 12);
    PutTypeClass(b, 46);  // RRSIG, its rdata cut by the snaplen
    Put32(b, 60);
    Put16(b, 500);
    b.insert(b.end(), 100, 0xAB);
    const DnsMessage m = Parse(b);
    EXPECT_EQ(m.error, DnsError::RECORDS_TRUNCATED);
    EXPECT_TRUE(m.has_question);
    EXPECT_EQ(m.qname, "example.net");
    EXPECT_EQ(m.qtype, 255);
}

TEST(Dns, EveryPrefixOfAMessageParsesWithinItsBytes) {
    Bytes b = Header(3, 0x8180, 1, 1, 0, 1);
    PutName(b, {"deep", "sub", "example", "com"});
    PutTypeClass(b);
    b.push_back(3);
    b.insert(b.end(), {'w', 'w', 'w'});
    PutPointer(b, 12 + 5);  // "sub.example.com" inside the question
    PutTypeClass(b);
    Put32(b, 1);
    Put16(b, 4);
    b.insert(b.end(), {1, 2, 3, 4});
    PutOpt(b, 512, 0);
    EXPECT_EQ(Parse(b).error, DnsError::NONE);
    // A heap copy of each prefix, so that ASan sees any read past it.
    for (size_t n = 0; n < b.size(); ++n) {
        auto copy = std::make_unique<uint8_t[]>(std::max<size_t>(n, 1));
        std::copy(b.begin(), b.begin() + long(n), copy.get());
        DnsMessage m;
        const bool dns = ParseDns(copy.get(), uint32_t(n), m);
        EXPECT_EQ(dns, n >= 12) << n;
        if (n >= 12) {
            EXPECT_NE(m.error, DnsError::NONE) << n;
        }
    }
}

// ---- The real captures ----

TEST(DnsCaptures, MalformedQuestionsAreNamed) {
    const fs::path data = testing::SharedDataDir(DARKSCOPE_SHARED_DATA);
    const fs::path path = data.empty() ? data : data / "pcap/edge/ndpi__malformed_dns.pcap";
    if (path.empty() || !fs::exists(path)) GTEST_SKIP() << "shared test data not found (set DARKSCOPE_SHARED_DATA)";
    auto file = testing::ReadPcap(path);
    ASSERT_TRUE(file);
    std::map<DnsError, int> errors;
    for (const RawPacket &raw : file->packets) {
        DecodedPacket pkt;
        Decode(raw, pkt);
        ClassifiedPacket cp;
        Classify(pkt, cp);
        ++errors[cp.dns_error];
    }
    // tshark shows "<Name too long>" as the second question of frames 2, 3, 5 and 6; frames 1 and 4 are whole.
    EXPECT_EQ(errors[DnsError::NAME_TOO_LONG], 4);
    EXPECT_EQ(errors[DnsError::NONE], 2);
}

// ---- Against tshark ----

struct TsharkDns {
    bool response = false;
    std::string id, qname, qtype, answers;
};

// tshark's view of each frame that it dissects as DNS, with IP reassembly off so that each frame is seen as
// darkscope sees it (a first fragment alone).
std::map<uint32_t, TsharkDns> TsharkFrames(const fs::path &path) {
    std::map<uint32_t, TsharkDns> out;
    const std::string cmd = "tshark -n -o ip.defragment:FALSE -o ipv6.defragment:FALSE -r '" + path.string() +
                            "' -Y dns -T fields -E separator=/t -E occurrence=f -e frame.number "
                            "-e dns.flags.response -e dns.id -e dns.qry.name -e dns.qry.type -e dns.count.answers "
                            "2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE *)> pipe(popen(cmd.c_str(), "r"), pclose);
    if (!pipe) return out;
    char line[4096];
    while (fgets(line, sizeof line, pipe.get())) {
        std::vector<std::string> f;
        std::stringstream ss(std::string(line).substr(0, std::string(line).find_last_not_of("\r\n") + 1));
        for (std::string cell; std::getline(ss, cell, '\t');) f.push_back(cell);
        f.resize(6);
        TsharkDns t;
        t.response = f[1] == "1" || f[1] == "True";
        t.id = f[2];
        t.qname = f[3];
        t.qtype = f[4];
        t.answers = f[5];
        out[uint32_t(std::stoul(f[0]))] = t;
    }
    return out;
}

bool PlainName(const std::string &name) {
    for (char c : name)
        if (!(std::isalnum(uint8_t(c)) || c == '-' || c == '_' || c == '.')) return false;
    return !name.empty();
}

TEST(DnsCaptures, HeaderAndQuestionAgreeWithTshark) {
    const fs::path data = testing::SharedDataDir(DARKSCOPE_SHARED_DATA);
    if (data.empty() || !fs::is_directory(data / "pcap"))
        GTEST_SKIP() << "shared test data not found (set DARKSCOPE_SHARED_DATA to the folder holding pcap/)";
    if (std::system("tshark -v >/dev/null 2>&1") != 0) GTEST_SKIP() << "tshark not installed (scripts/setup.sh --test)";
    const std::vector<fs::path> files = {
        data / "pcap/attacks/stopddos__amp.dns.RRSIG.fragmented.pcap", data / "pcap/edge/ndpi__dns_fragmented.pcap",
        data / "pcap/edge/ndpi__malformed_dns.pcap",     data / "pcap/edge/tcpdump__dns-badcookie.pcap",
        data / "pcap/edge/tcpdump__dns-zlip-1.pcap",     data / "pcap/edge/tcpdump__dns_fwdptr.pcap",
        data / "pcap/edge/zeek__dns-corrupt.pcap",       data / "pcap/edge/zeek__ipv6-fragmented-dns.pcap"};
    size_t compared = 0, names = 0;
    for (const fs::path &path : files) {
        if (!fs::exists(path)) continue;
        auto file = testing::ReadPcap(path);
        ASSERT_TRUE(file) << path;
        const auto tshark = TsharkFrames(path);
        for (size_t i = 0; i < file->packets.size(); ++i) {
            DecodedPacket pkt;
            Decode(file->packets[i], pkt);
            if (pkt.l4 != L4State::PRESENT || pkt.proto != IPPROTO_NUM_UDP || (pkt.sport != 53 && pkt.dport != 53))
                continue;
            DnsMessage m;
            if (!ParseDns(pkt.payload, pkt.payload_len, m)) continue;
            auto it = tshark.find(uint32_t(i + 1));
            if (it == tshark.end()) continue;  // tshark did not take it for DNS (another port's dissector)
            const TsharkDns &t = it->second;
            const std::string where = path.filename().string() + " frame " + std::to_string(i + 1);
            ++compared;
            EXPECT_EQ(m.qr, t.response) << where;
            char id[8];
            std::snprintf(id, sizeof id, "0x%04x", m.id);
            EXPECT_EQ(id, t.id) << where;
            if (m.has_question && PlainName(t.qname)) {
                ++names;
                EXPECT_EQ(m.qname, t.qname) << where;
                EXPECT_EQ(std::to_string(m.qtype), t.qtype) << where;
            }
            if (m.error == DnsError::NONE && !t.answers.empty()) {
                EXPECT_EQ(std::to_string(m.ancount), t.answers) << where;
            }
        }
    }
    std::printf("%zu DNS frames compared with tshark, %zu of them with a plain question name\n", compared, names);
    // The amplification capture alone holds hundreds of first fragments with their question.
    EXPECT_GT(compared, 100u);
    EXPECT_GT(names, 100u);
}

}  // namespace
}  // namespace darkscope
