package hook

import (
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// TestTable holds the hook table to itself: every kind has a complete
// entry, names and (for map hooks) sections are unique, and the facts that
// imply one another agree.
func TestTable(t *testing.T) {
	if len(table) != int(Accept)+1 {
		t.Fatalf("table has %d entries, want one per kind (%d)", len(table), Accept+1)
	}
	if table[Invalid].name != "" || Invalid.NeedsMap() || Invalid.Sockops() || Invalid.Section() != "" {
		t.Errorf("table[Invalid] is not empty: %+v", table[Invalid])
	}
	names := map[string]Kind{}
	sections := map[string]Kind{}
	for _, k := range Kinds() {
		e := table[k]
		if e.name == "" || e.section == "" || e.prog == ebpf.UnspecifiedProgram || e.attach == ebpf.AttachNone {
			t.Errorf("%d: incomplete entry %+v", k, e)
		}
		if o, dup := names[e.name]; dup {
			t.Errorf("%v and %v share the name %q", o, k, e.name)
		}
		names[e.name] = k
		if Parse(splitWords(e.name)) != k {
			t.Errorf("Parse(%q) != %v", e.name, k)
		}
		if e.sockops != (e.ctx == SockOps) || e.sockops != (e.prog == ebpf.SockOps) || e.sockops != (len(e.ops) > 0) {
			t.Errorf("%v: sockops %v, context %v, program type %v, ops %v disagree", k, e.sockops, e.ctx, e.prog, e.ops)
		}
		if e.toMap == e.sockops {
			t.Errorf("%v: a hook attaches either to a map or to the cgroup", k)
		}
		if e.toMap {
			if o, dup := sections[e.section]; dup {
				t.Errorf("%v and %v share the section %q", o, k, e.section)
			}
			sections[e.section] = k
		}
		if e.verdict != (k.Allows(StmtPass) && k.Allows(StmtDrop) && k.Allows(StmtRedirect)) {
			t.Errorf("%v: verdict %v, but allows pass/drop/redirect: %v/%v/%v", k, e.verdict,
				k.Allows(StmtPass), k.Allows(StmtDrop), k.Allows(StmtRedirect))
		}
		if (e.feature == "") != (e.kernel == KernelVersion{}) {
			t.Errorf("%v: kernel %v and feature %q go together", k, e.kernel, e.feature)
		}
		if e.feature != "" && !MinSupportedKernel().Before(e.kernel) {
			t.Errorf("%v: needs %v, not newer than the minimum %v", k, e.kernel, MinSupportedKernel())
		}
		for i, s := range e.allows {
			if slices.Contains(e.allows[:i], s) || s < StmtRedirect || s > StmtUpdate {
				t.Errorf("%v: allows %v twice or out of range", k, s)
			}
		}
	}
	// A sockops hook's kernel-side facts are the one program's.
	for _, k := range Kinds() {
		if k.Sockops() && (k.Section() != Established.Section() || k.AttachType() != Established.AttachType()) {
			t.Errorf("%v: section or attach type differs from the other sockops hooks", k)
		}
	}
}

func splitWords(s string) []string { return strings.Split(s, " ") }

// TestHooksAllowing pins the hook lists of the "allowed in" diagnostics.
func TestHooksAllowing(t *testing.T) {
	want := map[Stmt]string{
		StmtRedirect:     "on msg, on stream verdict, on skb verdict",
		StmtRedirectPeer: "on stream verdict, on skb verdict",
		StmtPass:         "on msg, on stream verdict, on skb verdict",
		StmtDrop:         "on msg, on stream verdict, on skb verdict",
		StmtApply:        "on msg",
		StmtCork:         "on msg",
		StmtLength:       "on stream parser",
		StmtUpdate:       "on established/connect/accept",
	}
	for s, w := range want {
		if got := HooksAllowing(s); got != w {
			t.Errorf("HooksAllowing(%d) = %q, want %q", s, got, w)
		}
	}
	if got := HooksAllowing(StmtUpdate + 1); got != "" {
		t.Errorf("HooksAllowing(past the last) = %q, want empty", got)
	}
}

// TestFields holds the field table to itself: names unique, words by type,
// an ip field names an ip4 and an ip6 field of one end, and every other
// field sits in at least one context struct, 4-byte aligned.
func TestFields(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range fields {
		if f.name == "" || seen[f.name] {
			t.Errorf("field name %q empty or repeated", f.name)
		}
		seen[f.name] = true
		wantWords := 1
		if f.typ == IP6 || f.typ == IP {
			wantWords = 4
		}
		if f.words != wantWords {
			t.Errorf("%s: %d words, want %d for %v", f.name, f.words, wantWords, f.typ)
		}
		if (f.typ == IP) != (f.v4 != "" || f.v6 != "") {
			t.Errorf("%s: only ip fields name the fields they read", f.name)
		}
		if f.typ == IP {
			v4, ok4 := field(f.v4)
			v6, ok6 := field(f.v6)
			if !ok4 || !ok6 || v4.typ != IP4 || v6.typ != IP6 ||
				strings.TrimSuffix(f.v4, "4") != f.name || strings.TrimSuffix(f.v6, "6") != f.name {
				t.Errorf("%s reads %q and %q: want its end's ip4 and ip6 fields", f.name, f.v4, f.v6)
			}
			if f.enc != NetworkOrder {
				t.Errorf("%s: an address is in network order", f.name)
			}
			continue
		}
		placed := false
		for c, off := range f.offs {
			if off >= 0 {
				placed = true
				if off%4 != 0 {
					t.Errorf("%s: offset %d in %v is not 4-byte aligned", f.name, off, Context(c))
				}
			}
		}
		if !placed {
			t.Errorf("%s is in no context struct", f.name)
		}
	}
	if _, _, ok := Established.Lookup("size"); ok {
		t.Error("bpf_sock_ops has a size field")
	}
	if _, known, _ := Msg.Lookup("nope"); known {
		t.Error("Lookup knows an unknown name")
	}
}
