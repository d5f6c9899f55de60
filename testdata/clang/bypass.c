// Hand-written C equivalent of examples/bypass.sock, compiled with
// clang -O2 -target bpf by object_test.go to compare instruction counts
// and to check that both load through the same harness.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct tuple {
	__u32 local_ip4;
	__u32 local_port;
	__u32 remote_ip4;
	__u32 remote_port;
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__uint(key_size, sizeof(struct tuple));
	__uint(value_size, 8);
} socks SEC(".maps");

SEC("sockops")
int bypass_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (skops->family == 2 /* AF_INET */) {
			struct tuple k = {
				.local_ip4 = skops->local_ip4,
				.local_port = skops->local_port,
				.remote_ip4 = skops->remote_ip4,
				.remote_port = bpf_ntohl(skops->remote_port),
			};
			bpf_sock_hash_update(skops, &socks, &k, BPF_ANY);
		}
	}
	return 1;
}

SEC("sk_msg")
int msg_socks(struct sk_msg_md *msg)
{
	// The peer's tuple: this socket's, reversed.
	struct tuple k = {
		.local_ip4 = msg->remote_ip4,
		.local_port = bpf_ntohl(msg->remote_port),
		.remote_ip4 = msg->local_ip4,
		.remote_port = msg->local_port,
	};
	bpf_msg_redirect_hash(msg, &socks, &k, BPF_F_INGRESS);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
