// Hand-written C equivalent of examples/bypass.sock, compiled with
// clang -O2 -target bpf by object_test.go to compare instruction counts
// and to check that both load through the same harness.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// An address of either family: IPv6 as it is, IPv4 as ::ffff:a.b.c.d.
struct ip {
	__u32 w[4];
};

struct tuple {
	struct ip local_ip;
	__u32 local_port;
	struct ip remote_ip;
	__u32 remote_port;
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__uint(key_size, sizeof(struct tuple));
	__uint(value_size, 8);
} socks SEC(".maps");

// set_ip stores an address of either family. The caller loads the context
// fields first, each behind barrier_var: otherwise clang sinks the loads
// into the branches and merges them into one load through a moved
// context pointer, which the verifier refuses ("dereference of modified
// ctx ptr").
static __always_inline void set_ip(struct ip *dst, __u32 family, __u32 ip4,
				   __u32 a, __u32 b, __u32 c, __u32 d)
{
	if (family == 2 /* AF_INET */) {
		dst->w[0] = 0;
		dst->w[1] = 0;
		dst->w[2] = bpf_htonl(0xffff);
		dst->w[3] = ip4;
	} else {
		dst->w[0] = a;
		dst->w[1] = b;
		dst->w[2] = c;
		dst->w[3] = d;
	}
}

#define LOAD_IP(dst, ctx, end)                                          \
	do {                                                            \
		__u32 fam = (ctx)->family, ip4 = (ctx)->end##_ip4;      \
		__u32 a = (ctx)->end##_ip6[0], b = (ctx)->end##_ip6[1]; \
		__u32 c = (ctx)->end##_ip6[2], d = (ctx)->end##_ip6[3]; \
		barrier_var(fam);                                       \
		barrier_var(ip4);                                       \
		barrier_var(a);                                         \
		barrier_var(b);                                         \
		barrier_var(c);                                         \
		barrier_var(d);                                         \
		set_ip(&(dst), fam, ip4, a, b, c, d);                   \
	} while (0)

SEC("sockops")
int bypass_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: {
		struct tuple k;
		LOAD_IP(k.local_ip, skops, local);
		k.local_port = skops->local_port;
		LOAD_IP(k.remote_ip, skops, remote);
		k.remote_port = bpf_ntohl(skops->remote_port);
		bpf_sock_hash_update(skops, &socks, &k, BPF_ANY);
	}
	}
	return 1;
}

SEC("sk_msg")
int msg_socks(struct sk_msg_md *msg)
{
	// The peer's tuple: this socket's, reversed.
	struct tuple k;
	LOAD_IP(k.local_ip, msg, remote);
	k.local_port = bpf_ntohl(msg->remote_port);
	LOAD_IP(k.remote_ip, msg, local);
	k.remote_port = msg->local_port;
	bpf_msg_redirect_hash(msg, &socks, &k, BPF_F_INGRESS);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
