package elfw

import (
	"bytes"
	"encoding/binary"
)

func readLE(b []byte, v any) error {
	return binary.Read(bytes.NewReader(b), binary.LittleEndian, v)
}
