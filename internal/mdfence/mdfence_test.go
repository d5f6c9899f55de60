package mdfence

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	text := "# Title\n\nIntro line:\n\n```sock file=a.sock\non msg to m: pass\n\n```\n<!-- error: x -->\nmore\n```\n$ make\n```\ntail\n"
	blocks, err := Parse("doc.md", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{Line: 5, Info: "sock file=a.sock", Lines: []string{"on msg to m: pass", ""},
			Before: "# Title\n\nIntro line:\n\n", After: "<!-- error: x -->\nmore\n"},
		{Line: 11, Info: "", Lines: []string{"$ make"}, Before: "<!-- error: x -->\nmore\n", After: "tail\n"},
	}
	if !reflect.DeepEqual(blocks, want) {
		t.Fatalf("Parse:\n got %#v\nwant %#v", blocks, want)
	}
	b := blocks[0]
	if b.Body() != "on msg to m: pass\n\n" || b.Intro() != "Intro line:" || b.Next() != "<!-- error: x -->" {
		t.Errorf("Body %q, Intro %q, Next %q", b.Body(), b.Intro(), b.Next())
	}
	if blocks[1].Intro() != "more" || blocks[1].Next() != "tail" {
		t.Errorf("second block: Intro %q, Next %q", blocks[1].Intro(), blocks[1].Next())
	}
	if _, err := Parse("doc.md", []byte("```\nnever closed\n")); err == nil || err.Error() != "doc.md:1: block not closed" {
		t.Errorf("unclosed block: %v", err)
	}
}
