// Hand-written C equivalent of examples/echo.sock, compiled with clang
// -O2 -target bpf by the benchmark harness (internal/bench/compiler.go)
// to compare instruction counts.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4096);
	__uint(key_size, 8);
	__uint(value_size, 8);
} echo_socks SEC(".maps");

// The companion map of redirect peer: each socket under its peer's cookie
// (for an echo, its own).
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4096);
	__uint(key_size, 8);
	__uint(value_size, 8);
} sockc_peers_echo_socks SEC(".maps");

// The flow control sockc adds to redirect peer (docs/language.md 7.11):
// the program's counts and the loader's limit, under each socket's cookie.
struct flow {
	__u64 redirected, passed;
};

struct flowctl {
	__u64 limit, relayed;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct flow);
} sockc_flow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct flowctl);
} sockc_flowctl SEC(".maps");

SEC("sk_skb/stream_verdict")
int stream_verdict_echo_socks(struct __sk_buff *skb)
{
	// The empty skb of a FIN must not be redirected or passed.
	if (skb->len == 0)
		return SK_DROP;
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct flow *f = bpf_map_lookup_elem(&sockc_flow, &cookie);
	// Without an entry, a redirect that counts nothing: a count that
	// tests f after the redirect is refused before Linux 6.17 from a
	// caller without CAP_PERFMON (docs/language.md 7.11).
	if (!f) {
		bpf_sk_redirect_hash(skb, &sockc_peers_echo_socks, &cookie, 0);
		return SK_PASS;
	}
	struct flowctl *ctl = bpf_map_lookup_elem(&sockc_flowctl, &cookie);
	// Hold the bytes while earlier ones wait for the loader, or when
	// they would take the backlog over its limit.
	if (ctl && (f->passed != ctl->relayed || f->redirected + skb->len > ctl->limit)) {
		__sync_fetch_and_add(&f->passed, skb->len);
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &sockc_peers_echo_socks, &cookie, 0) == SK_PASS)
		__sync_fetch_and_add(&f->redirected, skb->len);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
