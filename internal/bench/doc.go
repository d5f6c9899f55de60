package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// The generated part of docs/benchmarks.md sits between these lines; the
// text around it (the reading of the results) is written by hand and kept.
const (
	beginResults = "<!-- begin results: written by `make bench`; edit outside these lines -->\n"
	endResults   = "<!-- end results -->\n"
)

// UpdateDoc replaces the results section of the Markdown file at path
// with tables, creating the file if it does not exist.
func UpdateDoc(path string, tables []byte) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		old = []byte("# Benchmarks\n\n" + beginResults + endResults)
	} else if err != nil {
		return fmt.Errorf("update %s: %w", path, err)
	}
	out, err := spliceResults(old, tables)
	if err != nil {
		return fmt.Errorf("update %s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

func spliceResults(doc, tables []byte) ([]byte, error) {
	i := bytes.Index(doc, []byte(beginResults))
	j := bytes.Index(doc, []byte(endResults))
	if i < 0 || j < i {
		return nil, fmt.Errorf("no results section (a %q line, then a %q line)", bytes.TrimSpace([]byte(beginResults)), bytes.TrimSpace([]byte(endResults)))
	}
	var b bytes.Buffer
	b.Write(doc[:i+len(beginResults)])
	b.WriteString("\n")
	b.Write(bytes.TrimSpace(tables))
	b.WriteString("\n\n")
	b.Write(doc[j:])
	return b.Bytes(), nil
}
