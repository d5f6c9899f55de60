package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpliceResults(t *testing.T) {
	const before = "# Benchmarks\n\nHow to read these.\n\n"
	const after = "\n## Reading the results\n\nThe proxy wins because...\n"
	tests := []struct {
		name        string
		doc, tables string
		want        string
	}{
		{
			"replaces the old results",
			before + beginResults + "\nold table\nmore old\n\n" + endResults + after,
			"| new | table |\n",
			before + beginResults + "\n| new | table |\n\n" + endResults + after,
		},
		{
			"empty section",
			before + beginResults + endResults + after,
			"tables",
			before + beginResults + "\ntables\n\n" + endResults + after,
		},
		{
			"trims the tables' surrounding space",
			beginResults + endResults,
			"\n\n  x\n\n\n",
			beginResults + "\nx\n\n" + endResults,
		},
		{
			"no text around",
			beginResults + "old\n" + endResults,
			"new",
			beginResults + "\nnew\n\n" + endResults,
		},
		{
			"text after the end marker on its own lines is kept byte for byte",
			"a\n" + beginResults + "b\n" + endResults + endResults + "c",
			"t",
			"a\n" + beginResults + "\nt\n\n" + endResults + endResults + "c",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := spliceResults([]byte(tt.doc), []byte(tt.tables))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("spliceResults =\n%q\nwant\n%q", got, tt.want)
			}
			// Splicing the same tables again changes nothing.
			again, err := spliceResults(got, []byte(tt.tables))
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Errorf("a second splice changed the document:\n%q\nthen\n%q", got, again)
			}
		})
	}
}

func TestSpliceResultsMissingMarkers(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":                            "",
		"no markers":                       "# Benchmarks\n\ntext\n",
		"no end marker":                    "x\n" + beginResults + "y\n",
		"no begin marker":                  "x\n" + endResults + "y\n",
		"markers in wrong order":           endResults + "x\n" + beginResults,
		"begin marker without its newline": strings.TrimSuffix(beginResults, "\n") + endResults,
	} {
		t.Run(name, func(t *testing.T) {
			out, err := spliceResults([]byte(doc), []byte("tables"))
			if err == nil {
				t.Fatalf("spliceResults(%q) = %q, want an error", doc, out)
			}
			if !strings.Contains(err.Error(), "no results section") {
				t.Errorf("error %q does not say what is missing", err)
			}
		})
	}
}

func TestUpdateDocCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := UpdateDoc(path, []byte("| a | b |\n")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\n" + beginResults + "\n| a | b |\n\n" + endResults
	if string(b) != want {
		t.Errorf("new file =\n%q\nwant\n%q", b, want)
	}
	// A second update keeps what was written around the markers.
	edited := "Intro.\n\n" + string(b) + "\nReading.\n"
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateDoc(path, []byte("| c |")); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want = "Intro.\n\n# Benchmarks\n\n" + beginResults + "\n| c |\n\n" + endResults + "\nReading.\n"
	if string(b) != want {
		t.Errorf("updated file =\n%q\nwant\n%q", b, want)
	}
}

func TestUpdateDocWithoutMarkersFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	const doc = "# Benchmarks\n\nhand-written, no markers\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	err := UpdateDoc(path, []byte("tables"))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("UpdateDoc on a file without markers = %v, want an error naming the file", err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != doc {
		t.Errorf("a failed update changed the file to %q", b)
	}
}

func TestUpdateDocUnreadable(t *testing.T) {
	// A directory where the file should be: not "does not exist", so no
	// new file is made.
	dir := t.TempDir()
	if err := UpdateDoc(dir, []byte("tables")); err == nil {
		t.Error("UpdateDoc on a directory succeeded")
	}
}
