// Hand-written canonical-ABI glue for spangate:plugin@0.2.0's processor-plugin world:
// the flat signatures wit-bindgen would generate, exported with //go:wasmexport.
//
// Memory rules: the host writes arguments into buffers it gets from cabi_realloc and
// reads results from memory we point it to, after the call and until post-return. Go's
// GC does not move objects but frees unreferenced ones, so results are kept referenced
// (`returned`) until post-return.
package main

import (
	"fmt"
	"unsafe"
)

// Allocation. The host calls cabi_realloc while lowering arguments, when a component may
// not call imports; Go's allocator can (clock, yield), which traps ("cannot leave
// component instance"), and before the runtime is initialised it cannot run at all. The
// WASI adapter also allocates its state through cabi_realloc, for good. So cabi_realloc
// never calls Go's allocator: it bumps a pointer in one of two static regions:
//   - arguments (host lowering between calls): reset after each export has read them;
//   - permanent (during _initialize or inside an export, i.e. the adapter): never freed.
// The argument region is replaced by a bigger Go allocation between calls when a batch
// used more than half of it.
var (
	argumentStatic  [1 << 20]uint64 // 8 MiB
	permanentStatic [1 << 15]uint64 // 256 KiB for the adapter's state and stack
	arguments       []uint64
	argumentsUsed   uint32
	argumentsPeak   uint32
	permanentUsed   uint32
	initialised     bool // package init done: lowering uses the argument region
	inExport        bool
)

func init() { initialised = true }

func bump(region []uint64, used *uint32, size uint32) uint32 {
	start := (*used + 7) &^ 7
	if uint64(start)+uint64(size) > uint64(len(region))*8 {
		panic("cabi_realloc: region exhausted")
	}
	*used = start + size
	return uint32(uintptr(unsafe.Pointer(&region[0]))) + start
}

//go:wasmexport cabi_realloc
func cabiRealloc(oldPtr, oldSize, align, newSize uint32) uint32 {
	if newSize == 0 {
		return align
	}
	var ptr uint32
	if !initialised || inExport {
		ptr = bump(permanentStatic[:], &permanentUsed, newSize)
	} else {
		if arguments == nil {
			arguments = argumentStatic[:]
		}
		ptr = bump(arguments, &argumentsUsed, newSize)
		argumentsPeak = max(argumentsPeak, argumentsUsed)
	}
	if oldPtr != 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), newSize),
			unsafe.Slice((*byte)(unsafe.Pointer(uintptr(oldPtr))), min(oldSize, newSize)))
	}
	return ptr
}

// enter marks the start of an export (allocations now are the adapter's, permanent).
func enter() { inExport = true }

// leave frees the arguments and grows their region for the next call if needed.
func leave() {
	if uint64(argumentsPeak)*2 > uint64(len(arguments))*8 {
		arguments = make([]uint64, int(argumentsPeak)/2) // 4x the peak
	}
	argumentsUsed, argumentsPeak = 0, 0
	inExport = false
}

// bytesAt views host-written memory (valid until the export returns).
func bytesAt(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

// Results live here until the host's post-return call.
var (
	retArea  [24]uint32 // result<needs, string> is 72 bytes, result<edits, string> 20
	returned [][]byte
)

// keep returns a pointer to a copy of b that stays alive until post-return.
func keep(b []byte) (uint32, uint32) {
	if len(b) == 0 {
		return 0, 0
	}
	c := append([]byte(nil), b...)
	returned = append(returned, c)
	return uint32(uintptr(unsafe.Pointer(&c[0]))), uint32(len(c))
}

func put32(offset int, v uint32) { retArea[offset/4] = v }

func putString(offset int, s string) {
	ptr, n := keep([]byte(s))
	put32(offset, ptr)
	put32(offset+4, n)
}

func retPtr() uint32 { return uint32(uintptr(unsafe.Pointer(&retArea[0]))) }

//go:wasmimport spangate:plugin/host@0.2.0 log
func hostLog(level uint32, ptr unsafe.Pointer, n uint32)

//go:wasmimport spangate:plugin/host@0.2.0 now-unix-nanos
func hostNowUnixNanos() uint64

const logError = 4

func logMessage(level uint32, message string) {
	b := []byte(message)
	if len(b) == 0 {
		b = []byte{0}[:0:1]
	}
	hostLog(level, unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)))
}

// forwardPanic logs a panic at error level, then lets it trap the instance.
func forwardPanic() {
	if r := recover(); r != nil {
		logMessage(logError, fmt.Sprintf("plugin panicked: %v", r))
		panic(r)
	}
}

// putErr writes result::err(message).
func putErr(message string) uint32 {
	retArea = [24]uint32{}
	put32(0, 1)
	putString(4, message)
	return retPtr()
}

//go:wasmexport spangate:plugin/processor@0.2.0#init
func exportInit(configPtr, configLen uint32) uint32 {
	enter()
	defer leave()
	defer forwardPanic()
	config := string(bytesAt(configPtr, configLen))
	needs, err := initPlugin(config)
	if err != nil {
		return putErr(err.Error())
	}
	// result<needs, string>: tag at 0; needs at 4: name 4, version 12, fields 20 (u16),
	// then four attribute selections of 12 bytes (tag, list ptr, list len) at 24, 36, 48, 60.
	retArea = [24]uint32{}
	putString(4, needs.name)
	putString(12, needs.version)
	put32(20, uint32(needs.fields))
	put32(24, 1) // span attributes: keys(...)
	list := make([]byte, 8*len(needs.spanKeys))
	for i, key := range needs.spanKeys {
		ptr, n := keep([]byte(key))
		le32(list[8*i:], ptr)
		le32(list[8*i+4:], n)
	}
	ptr, n := keep(list)
	put32(28, ptr)
	put32(32, n/8)
	return retPtr()
}

//go:wasmexport cabi_post_spangate:plugin/processor@0.2.0#init
func postInit(uint32) { returned = nil }

//go:wasmexport spangate:plugin/processor@0.2.0#process
func exportProcess(spans, columnsPtr, columnsLen, stringsPtr, stringsLen uint32) uint32 {
	enter()
	defer leave()
	defer forwardPanic()
	columns := bytesAt(columnsPtr, columnsLen)
	strs := bytesAt(stringsPtr, stringsLen)
	if plugin == nil {
		return putErr("not initialised")
	}
	batch, err := parseBatch(spans, columns, strs)
	if err != nil {
		return putErr(err.Error())
	}
	var edits edits
	plugin.process(batch, &edits)
	// result<edits, string>: tag 0, records (ptr, len) at 4, strings at 12.
	retArea = [24]uint32{}
	ptr, n := keep(edits.records)
	put32(4, ptr)
	put32(8, n)
	ptr, n = keep(edits.strings)
	put32(12, ptr)
	put32(16, n)
	return retPtr()
}

//go:wasmexport cabi_post_spangate:plugin/processor@0.2.0#process
func postProcess(uint32) { returned = nil }

func le32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func main() {}
