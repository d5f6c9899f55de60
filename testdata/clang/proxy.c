// Hand-written C equivalent of examples/proxy.sock, compiled with
// clang -O2 -target bpf by object_test.go to compare instruction counts
// and to check that both load through the same harness.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct counters {
	__u64 proxied;
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__uint(key_size, 8);
	__uint(value_size, 8);
} conns SEC(".maps");

// The companion map of redirect peer: each socket under its peer's cookie.
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__uint(key_size, 8);
	__uint(value_size, 8);
} sockc_peers_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} sockc_counters SEC(".maps");

SEC("sk_skb/stream_verdict")
int stream_verdict_conns(struct __sk_buff *skb)
{
	// The empty skb of a FIN must not be redirected or passed.
	if (skb->len == 0)
		return SK_DROP;

	__u32 zero = 0;
	struct counters *c = bpf_map_lookup_elem(&sockc_counters, &zero);
	if (c)
		__sync_fetch_and_add(&c->proxied, 1);

	// The companion map holds the peer under this socket's cookie.
	__u64 cookie = bpf_get_socket_cookie(skb);
	bpf_sk_redirect_hash(skb, &sockc_peers_conns, &cookie, 0);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
