// The reference plugin (same behaviour as the Rust, Python, JS and C ones) over the
// column layout of wit/README.md.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

type needs struct {
	name, version string
	fields        uint16
	spanKeys      []string
}

const (
	fieldServiceName = 1 << 3
	fieldName        = 1 << 4
	fieldTimes       = 1 << 6
	fieldStatus      = 1 << 7
)

type reference struct {
	maskKeys   map[string]bool
	slowNanos  uint64
	dropName   string
}

var plugin *reference

func initPlugin(config string) (*needs, error) {
	var raw struct {
		MaskKeys []string `json:"mask_keys"`
		SlowMs   *uint64  `json:"slow_ms"`
		DropName string   `json:"drop_name"`
	}
	if config != "" {
		decoder := json.NewDecoder(bytes.NewReader([]byte(config)))
		decoder.DisallowUnknownFields()
		if err := decoder.Decode(&raw); err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
	}
	slowMs := uint64(1000)
	if raw.SlowMs != nil {
		slowMs = *raw.SlowMs
	}
	p := &reference{maskKeys: map[string]bool{}, slowNanos: slowMs * 1_000_000, dropName: raw.DropName}
	if slowMs > ^uint64(0)/1_000_000 {
		p.slowNanos = ^uint64(0)
	}
	for _, key := range raw.MaskKeys {
		p.maskKeys[key] = true
	}
	plugin = p
	keys := raw.MaskKeys
	if keys == nil {
		keys = []string{}
	}
	return &needs{"reference", "1.0.0", fieldName | fieldServiceName | fieldTimes | fieldStatus, keys}, nil
}

// batch: the directory of 36 (offset, count) entries over the column buffer.
type batch struct {
	len      uint32
	columns  []byte
	strings  []byte
	offset   [36]uint32
	count    [36]uint32
}

var widths = [36]uint32{16, 8, 8, 4, 8, 1, 1, 8, 8, 8, 4, 4, 4, 8, 4, 8,
	4, 4, 1, 8, 8, 4, 4, 1, 8, 8, 4, 4, 1, 8, 8, 4, 4, 1, 8, 8}

const (
	colService, colName, colStatus, colStart, colEnd, colServices = 3, 4, 6, 7, 8, 15
	spanTable                                                     = 16 // owner-offsets, key, kind, value, keys
)

func parseBatch(n uint32, columns, strings []byte) (*batch, error) {
	b := &batch{len: n, columns: columns, strings: strings}
	if len(columns) < 36*8 {
		return nil, fmt.Errorf("the column buffer is %d bytes, shorter than its 288-byte directory", len(columns))
	}
	for c := 0; c < 36; c++ {
		offset := binary.LittleEndian.Uint32(columns[c*8:])
		count := binary.LittleEndian.Uint32(columns[c*8+4:])
		if count == 0 {
			continue
		}
		if uint64(offset)+uint64(count)*uint64(widths[c]) > uint64(len(columns)) || offset%8 != 0 {
			return nil, fmt.Errorf("column %d is out of range or misaligned", c)
		}
		b.offset[c], b.count[c] = offset, count
	}
	return b, nil
}

func (b *batch) element(c int, i uint32) []byte {
	if i >= b.count[c] {
		return nil
	}
	start := b.offset[c] + i*widths[c]
	return b.columns[start : start+widths[c]]
}

func (b *batch) u8(c int, i uint32) uint8 {
	if e := b.element(c, i); e != nil {
		return e[0]
	}
	return 0
}

func (b *batch) u32(c int, i uint32) uint32 {
	if e := b.element(c, i); e != nil {
		return binary.LittleEndian.Uint32(e)
	}
	return 0
}

func (b *batch) u64(c int, i uint32) uint64 {
	if e := b.element(c, i); e != nil {
		return binary.LittleEndian.Uint64(e)
	}
	return 0
}

func (b *batch) ref(word uint64) []byte {
	offset, n := uint64(uint32(word)), word>>32
	if offset+n > uint64(len(b.strings)) {
		return nil
	}
	return b.strings[offset : offset+n]
}

func (b *batch) str(c int, i uint32) []byte { return b.ref(b.u64(c, i)) }

type edits struct{ records, strings []byte }

func (e *edits) str(s []byte) uint64 {
	ref := uint64(len(e.strings)) | uint64(len(s))<<32
	e.strings = append(e.strings, s...)
	return ref
}

func (e *edits) record(op, kind uint8, target uint32, key, value uint64) {
	var r [24]byte
	r[0], r[1] = op, kind
	binary.LittleEndian.PutUint32(r[4:], target)
	binary.LittleEndian.PutUint64(r[8:], key)
	binary.LittleEndian.PutUint64(r[16:], value)
	e.records = append(e.records, r[:]...)
}

func (p *reference) process(b *batch, e *edits) {
	for span := uint32(0); span < b.len; span++ {
		name := b.str(colName, span)
		if p.dropName != "" && string(name) == p.dropName {
			e.record(13, 0, span, 0, 0)
			continue
		}
		if span+1 < b.count[spanTable] {
			begin, end := b.u32(spanTable, span), b.u32(spanTable, span+1)
			for row := begin; row < end; row++ {
				key := b.str(spanTable+4, b.u32(spanTable+1, row))
				if b.u8(spanTable+2, row) == 0 && p.maskKeys[string(key)] {
					value := b.ref(b.u64(spanTable+3, row))
					masked := fmt.Sprintf("<masked:%d>", len(value))
					e.record(1, 0, row, 0, e.str([]byte(masked)))
				}
			}
		}
		start, end := b.u64(colStart, span), b.u64(colEnd, span)
		duration := uint64(0)
		if end > start {
			duration = end - start
		}
		if duration >= p.slowNanos {
			e.record(3, 3, span, e.str([]byte("ref.slow")), 1)
			e.record(3, 1, span, e.str([]byte("ref.duration_ms")), duration/1_000_000)
		}
		if b.u8(colStatus, span) == 2 {
			service := b.str(colServices, b.u32(colService, span))
			if len(service) == 0 {
				service = []byte("unknown")
			}
			renamed := append(append(append([]byte{}, service...), ": "...), name...)
			e.record(10, 0, span, 0, e.str(renamed))
		}
	}
}
