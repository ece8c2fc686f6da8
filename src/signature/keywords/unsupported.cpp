// Keywords outside the single-packet subset: they need sessions, reassembly or an application-layer
// parser. A rule using one is skipped with a message naming it (counted and listed at load). Any
// keyword with a '.' in its name not registered elsewhere (http.uri, dns.query, tls.sni, ...) is an
// application-layer buffer and is skipped the same way by the parser.

#include "signature/keywords/keyword_table.hpp"

namespace darkscope::sig {

void RegisterUnsupported(KeywordTable &t) {
    constexpr std::string_view SESSION[] = {
        "flowbits", "flowint", "xbits", "stream_size", "flow.age", "app-layer-event", "app-layer-protocol",
        "byte_extract", "byte_jump", "byte_math", "base64_decode", "base64_data", "file_data", "pkt_data",
        "uricontent", "urilen", "http_uri", "http_raw_uri", "http_header", "http_raw_header", "http_cookie",
        "http_method", "http_client_body", "http_server_body", "http_stat_code", "http_stat_msg",
        "http_user_agent", "http_host", "http_raw_host", "dns_query", "tls_sni", "tls_cert_subject", "ssl_state",
        "ssl_version", "dce_iface", "dce_opnum", "dce_stub_data", "filename", "fileext", "filemagic", "filestore",
        "lua", "luajit", "tag", "replace", "ipopts", "sameip", "ftpbounce", "asn1", "dotprefix", "domain", "tld",
        "stream_event", "decode-event", "engine-event", "tcp.mss", "prefilter", "bsize", "noalert", "config",
        "rpc", "ip_option", "icmp.hdr", "requires", "entropy", "datarep", "dataset", "iprep", "geoip",
    };
    for (std::string_view name : SESSION) {
        t.Add({name, "outside the single-packet subset: the rule is skipped", "docs/signatures.md#unsupported",
               [](std::string_view, Rule &, const ParseOptions &) {
                   return KeywordResult::Unsupported("needs sessions, reassembly or an application-layer parser");
               }});
    }
}

}  // namespace darkscope::sig
