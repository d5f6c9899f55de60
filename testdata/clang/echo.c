// Hand-written C equivalent of examples/echo.sock, compiled with
// clang -O2 -target bpf by the benchmark harness (bench/compiler.go) to
// compare instruction counts.
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

SEC("sk_skb/stream_verdict")
int stream_verdict_echo_socks(struct __sk_buff *skb)
{
	// The empty skb of a FIN must not be redirected or passed.
	if (skb->len == 0)
		return SK_DROP;
	__u64 cookie = bpf_get_socket_cookie(skb);
	bpf_sk_redirect_hash(skb, &sockc_peers_echo_socks, &cookie, 0);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
